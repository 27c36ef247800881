#include "support/load_driver.hpp"

#include <algorithm>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "support/raw_http.hpp"

namespace seshook::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

bool worth_retrying(unsigned status) { return status >= 500 || status == 429; }

/// One worker: a connection of its own, taking the next body until none is left.
class load_worker {
public:
    load_worker(const port_provider& port, const std::vector<std::string>& requests,
                const load_options& options, steady_clock::time_point deadline,
                std::atomic<std::size_t>& next, load_report& report, std::mutex& report_mutex)
        : port_(port),
          requests_(requests),
          options_(options),
          deadline_(deadline),
          next_(next),
          report_(report),
          report_mutex_(report_mutex) {}

    void run() {
        for (auto index = next_.fetch_add(1); index < requests_.size();
             index = next_.fetch_add(1)) {
            report_.outcomes[index] = deliver(requests_[index]);
        }
        std::lock_guard lock(report_mutex_);
        report_.lost_answers += lost_answers_;
        report_.connect_failures += connect_failures_;
    }

private:
    bool out_of_time() const {
        return options_.stop.stop_requested() || steady_clock::now() >= deadline_;
    }

    void pause() const { std::this_thread::sleep_for(options_.retry_pause); }

    // Returns a connection to the port the daemon has now, or none while it is unreachable.
    raw_connection* connection_now() {
        const std::uint16_t port = port_();
        if (port == 0) return nullptr;
        if (connection_ && connected_port_ == port) return connection_.get();
        connection_.reset();
        try {
            connection_ = std::make_unique<raw_connection>(port, options_.response_timeout);
            connected_port_ = port;
            return connection_.get();
        } catch (const std::exception&) {
            ++connect_failures_;
            return nullptr;
        }
    }

    body_outcome deliver(const std::string& request) {
        body_outcome outcome;
        while (outcome.attempts < options_.max_attempts && !out_of_time()) {
            // Wait while the daemon is down.
            raw_connection* connection = connection_now();
            if (connection == nullptr) {
                pause();
                continue;
            }

            // Send; an answer that never comes means the daemon may or may not have the event,
            // so it is sent again, as Tencent would.
            ++outcome.attempts;
            try {
                connection->send(request);
                const raw_response response = connection->read_response();
                outcome.status = response.status;
                outcome.response_body = response.body;
                if (response.header("Connection") == "close") connection_.reset();
            } catch (const std::exception&) {
                ++lost_answers_;
                outcome.status = 0;
                outcome.response_body.clear();
                connection_.reset();
                pause();
                continue;
            }

            // A 200 settles it; so does any answer that a retry would not change.
            if (outcome.status == 200) {
                outcome.acknowledged = true;
                if (options_.acknowledged != nullptr) options_.acknowledged->fetch_add(1);
                return outcome;
            }
            if (!worth_retrying(outcome.status)) return outcome;
            pause();
        }
        return outcome;
    }

    const port_provider& port_;
    const std::vector<std::string>& requests_;
    const load_options& options_;
    steady_clock::time_point deadline_;
    std::atomic<std::size_t>& next_;
    load_report& report_;
    std::mutex& report_mutex_;
    std::unique_ptr<raw_connection> connection_;
    std::uint16_t connected_port_ = 0;
    std::size_t lost_answers_ = 0;
    std::size_t connect_failures_ = 0;
};

}  // namespace

std::size_t load_report::acknowledged_count() const {
    return static_cast<std::size_t>(std::count_if(
        outcomes.begin(), outcomes.end(), [](const body_outcome& o) { return o.acknowledged; }));
}

load_report run_load(const port_provider& port, const std::vector<std::string>& bodies,
                     const load_options& options) {
    const auto started = steady_clock::now();
    const auto deadline = started + options.time_limit;

    // The requests are built once; each worker then takes the next body not taken yet.
    std::vector<std::string> requests;
    requests.reserve(bodies.size());
    for (const auto& body : bodies) requests.push_back(make_post(options.target, body));
    load_report report;
    report.outcomes.resize(bodies.size());
    std::atomic<std::size_t> next{0};
    std::mutex report_mutex;
    {
        std::vector<std::jthread> workers;
        const std::size_t count =
            std::max<std::size_t>(1, std::min(options.connections, bodies.size()));
        for (std::size_t i = 0; i < count; ++i) {
            workers.emplace_back([&] {
                load_worker(port, requests, options, deadline, next, report, report_mutex).run();
            });
        }
    }
    report.elapsed = std::chrono::duration_cast<milliseconds>(steady_clock::now() - started);
    return report;
}

}  // namespace seshook::testing
