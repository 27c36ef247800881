// Crash test: under concurrent load the daemon is killed (SIGKILL) at random moments and started
// again in the same folder, and the load driver sends again what got no answer, as Tencent
// does. Every event the daemon answered 200 must then be in the file sink and at the forward
// receiver at least once. SESHOOK_CRASH_SEED=N repeats the kill plan of a printed seed.

#include <gtest/gtest.h>
#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "integration/durability_helpers.hpp"
#include "integration/integration_helpers.hpp"
#include "support/daemon_process.hpp"
#include "support/load_driver.hpp"
#include "support/tiny_http_receiver.hpp"

namespace seshook::testing {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr std::size_t event_count = 4000;
constexpr std::size_t connection_count = 24;
constexpr std::size_t kill_count = 5;
constexpr auto load_limit = 60s;    // for the driver to get every body answered
constexpr auto settle_limit = 30s;  // for the sinks to catch up once the load is over
constexpr auto receiver_outage = 2500ms;

unsigned crash_seed() {
    if (const char* text = std::getenv("SESHOOK_CRASH_SEED"); text != nullptr && *text != 0) {
        return static_cast<unsigned>(std::stoul(text));
    }
    return std::random_device{}();
}

// Returns event `n` of the run `run`: bulkId, email and timestamp all differ from event to
// event, so every event has an id of its own.
std::string crash_event(std::string_view run, std::size_t n) {
    static constexpr const char* types[] = {"delivered", "open", "bounce"};
    const std::string type = types[n % 3];
    nlohmann::ordered_json event{
        {"event", type},
        {"email", "user" + std::to_string(n) + "@" + std::string(run) + ".example.com"},
        {"bulkId",
         "qcloudses-30-251200670-date-20240601142439-" + std::string(run) + std::to_string(n)},
        {"timestamp", 1717251879 + static_cast<long long>(n)},
        {"reason", type == "bounce" ? "551 5.1.1 recipient is not exist" : ""},
        {"bounceType", type == "bounce" ? "hard_bounce" : ""},
        {"username", "251200670"},
        {"from", "news@example.net"},
        {"fromDomain", "example.net"},
    };
    return event.dump();
}

/// A daemon that is killed and started again in one folder, with the same config; port() is
/// what the load driver connects to, 0 while no daemon listens.
class restarting_daemon {
public:
    explicit restarting_daemon(daemon_options options) : options_(std::move(options)) { start(); }

    /// Returns the port of the daemon running now, 0 between a kill and the restart.
    std::uint16_t port() const noexcept { return port_.load(); }

    /// Returns the daemon running now.
    daemon_process& current() { return *daemon_; }

    /// Kills the daemon with SIGKILL, reaps it and starts a new one; throws when it fails.
    void kill_and_restart() {
        port_ = 0;
        daemon_->send_signal(SIGKILL);
        const auto code = daemon_->wait_exit(10s);
        if (code != 128 + SIGKILL) throw std::runtime_error("the killed seshook did not die");
        keep_history("killed");
        start();
    }

    /// Stops the daemon with SIGTERM and returns its exit code, nothing when it hangs.
    std::optional<int> terminate() {
        port_ = 0;
        daemon_->send_signal(SIGTERM);
        const auto code = daemon_->wait_exit(30s);
        keep_history(code ? "exited " + std::to_string(*code) : "did not exit");
        return code;
    }

    /// Returns the output of every daemon so far, the one running now included.
    std::string history() const {
        return history_ + (daemon_ && !current_kept_ ? daemon_->log_text() : std::string());
    }

private:
    void start() {
        daemon_.reset();
        daemon_ = std::make_unique<daemon_process>(options_);
        current_kept_ = false;
        port_ = daemon_->port();
    }

    void keep_history(const std::string& end) {
        history_ += "---- seshook #" + std::to_string(++started_) + " (" + end + ") ----\n" +
                    daemon_->log_text();
        current_kept_ = true;
    }

    daemon_options options_;
    std::unique_ptr<daemon_process> daemon_;
    std::atomic<std::uint16_t> port_{0};
    std::string history_;
    std::size_t started_ = 0;
    bool current_kept_ = false;
};

class CrashTest : public ::testing::Test {
protected:
    ~CrashTest() override {
        // The daemon goes first, then its folder, unless it is kept for a post-mortem.
        daemon_.reset();
        receiver_.reset();
        if (std::getenv("SESHOOK_KEEP_TEST_DIRS") == nullptr) {
            std::error_code ignored;
            std::filesystem::remove_all(folder_, ignored);
        }
    }

    /// Sends `event_count` events under `kill_count` kills to a daemon whose spool has
    /// `durability`, and checks that every acknowledged one reached both sinks; with `outage`,
    /// the receiver is away for a while meanwhile.
    void run_crash_test(std::string_view run, std::string_view durability, bool outage);

    void TearDown() override {
        if (HasFailure() && daemon_) {
            // The whole output of five daemons is long: the end of it says what went wrong.
            const std::string text = daemon_->history();
            const auto from = text.size() > 20'000 ? text.size() - 20'000 : 0;
            std::cerr << "---- seshook output (" << folder_.string() << ", last "
                      << text.size() - from << " bytes) ----\n"
                      << text.substr(from) << "---- end of seshook output ----\n";
        }
    }

    std::filesystem::path folder_ = make_temp_dir("seshook-crash");
    std::unique_ptr<tiny_http_receiver> receiver_;
    std::unique_ptr<restarting_daemon> daemon_;
};

void CrashTest::run_crash_test(std::string_view run, std::string_view durability, bool outage) {
    const auto started = steady_clock::now();
    const unsigned seed = crash_seed();
    std::printf("crash test %s: seed %u (SESHOOK_CRASH_SEED=%u repeats the kill plan), in %s\n",
                std::string(run).c_str(), seed, seed, folder_.c_str());
    std::fflush(stdout);

    // The kill plan: after how many acknowledgements each kill comes, and a little jitter.
    std::mt19937 rng(seed);
    std::uniform_int_distribution<std::size_t> when(event_count / 20, event_count * 9 / 10);
    std::uniform_int_distribution<int> jitter_ms(0, 40);
    std::vector<std::size_t> kill_after(kill_count);
    for (auto& k : kill_after) k = when(rng);
    std::sort(kill_after.begin(), kill_after.end());
    std::vector<milliseconds> jitter(kill_count);
    for (auto& j : jitter) j = milliseconds(jitter_ms(rng));

    // The events, each with an id of its own.
    std::vector<std::string> bodies;
    std::vector<std::string> ids;
    for (std::size_t n = 0; n < event_count; ++n) {
        bodies.push_back(crash_event(run, n));
        ids.push_back(expected_id(nlohmann::json::parse(bodies.back())));
    }
    ASSERT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), event_count);

    // The daemon: the spool, a rotating file sink (so that rotation meets the kills too) and
    // a forward sink that retries long enough to outlast the receiver's outage.
    receiver_ = std::make_unique<tiny_http_receiver>();
    const std::uint16_t receiver_port = receiver_->port();
    daemon_options options;
    options.dir = folder_;
    options.file_sink = false;
    options.server_toml = "shutdown_grace = \"10s\"";
    options.tables_toml = spool_tables(durability);
    options.sinks_toml =
        rotating_file_sink(256 * 1024, 1000) + patient_forward_sink(receiver_->url("/hook"));
    daemon_ = std::make_unique<restarting_daemon>(options);

    // The load, on threads of its own.
    std::atomic<std::size_t> acknowledged{0};
    std::atomic<bool> load_done{false};
    std::stop_source stop_load;
    load_report report;
    load_options load;
    load.connections = connection_count;
    load.max_attempts = 100;
    load.time_limit = load_limit;
    load.acknowledged = &acknowledged;
    load.stop = stop_load.get_token();
    const port_provider port = [this] { return daemon_->port(); };
    std::jthread driver([&] {
        report = run_load(port, bodies, load);
        load_done = true;
    });

    // The receiver's outage: from a tenth of the load, for a while, then back on its port. What
    // the receiver got before it went away counts too.
    std::string outage_error;
    std::vector<received_request> before_outage;
    std::jthread away;
    if (outage) {
        away = std::jthread([&](std::stop_token stop) {
            const auto limit = steady_clock::now() + load_limit;
            while (acknowledged < event_count / 10 && !load_done && !stop.stop_requested() &&
                   steady_clock::now() < limit) {
                std::this_thread::sleep_for(5ms);
            }
            // NOTE: stopped before it is read, so that no request it answered is left out.
            receiver_->stop();
            before_outage = receiver_->requests();
            receiver_.reset();
            std::this_thread::sleep_for(receiver_outage);
            try {
                receiver_ = std::make_unique<tiny_http_receiver>(receiver_port);
            } catch (const std::exception& e) {
                outage_error = e.what();
            }
        });
    }

    // The kills, each when the load has reached its mark.
    std::size_t kills = 0;
    const auto kill_limit = steady_clock::now() + load_limit;
    for (std::size_t k = 0; k < kill_count; ++k) {
        while (acknowledged < kill_after[k] && !load_done && steady_clock::now() < kill_limit) {
            std::this_thread::sleep_for(2ms);
        }
        if (load_done || steady_clock::now() >= kill_limit) break;
        std::this_thread::sleep_for(jitter[k]);
        try {
            daemon_->kill_and_restart();
            ++kills;
        } catch (const std::exception& e) {
            ADD_FAILURE() << "restart " << k + 1 << " failed: " << e.what();
            stop_load.request_stop();
            break;
        }
    }
    driver.join();
    if (away.joinable()) away.join();
    ASSERT_TRUE(outage_error.empty()) << outage_error;
    ASSERT_TRUE(receiver_);
    EXPECT_EQ(kills, kill_count) << "the load ended before the last kill";

    // The acknowledged events, and the time the sinks need to catch up on them.
    std::vector<std::string> acked_ids;
    std::size_t answered_as_duplicate = 0;
    for (std::size_t n = 0; n < event_count; ++n) {
        const auto& outcome = report.outcomes[n];
        if (!outcome.acknowledged) continue;
        acked_ids.push_back(ids[n]);
        if (outcome.response_body.find("duplicates") != std::string::npos) ++answered_as_duplicate;
    }
    const auto settle_deadline = steady_clock::now() + settle_limit;
    while (steady_clock::now() < settle_deadline) {
        const auto file = count_record_ids(read_sink_files(folder_ / "events.jsonl").records);
        auto received = before_outage;
        const auto since = receiver_->requests();
        received.insert(received.end(), since.begin(), since.end());
        const auto forwarded = count_request_ids(received);
        if (found_count(acked_ids, file) == acked_ids.size() &&
            found_count(acked_ids, forwarded) == acked_ids.size()) {
            break;
        }
        std::this_thread::sleep_for(200ms);
    }

    // A clean stop, then count.
    EXPECT_EQ(daemon_->terminate(), 0);
    const auto file_contents = read_sink_files(folder_ / "events.jsonl");
    const auto in_file = count_record_ids(file_contents.records);
    auto requests = before_outage;
    const auto since_outage = receiver_->requests();
    requests.insert(requests.end(), since_outage.begin(), since_outage.end());
    const auto at_receiver = count_request_ids(requests);
    const auto dead_letters = read_json_lines(folder_ / "dead-letter.jsonl");
    const auto rejects = read_json_lines(folder_ / "rejects.jsonl");
    const std::size_t found_in_file = found_count(acked_ids, in_file);
    const std::size_t found_at_receiver = found_count(acked_ids, at_receiver);
    const double seconds = std::chrono::duration<double>(steady_clock::now() - started).count();
    std::printf(
        "crash test %s: sent %zu, acknowledged %zu, found in file %zu, found at receiver %zu, "
        "duplicates in file %zu, duplicates at receiver %zu (kills %zu, answered as duplicate "
        "%zu, lost answers %zu, dead-lettered %zu, rejects %zu, load %.1f s, total %.1f s)\n",
        std::string(run).c_str(), event_count, acked_ids.size(), found_in_file, found_at_receiver,
        extra_copies(in_file), extra_copies(at_receiver), kills, answered_as_duplicate,
        report.lost_answers, dead_letters.size(), rejects.size(),
        static_cast<double>(report.elapsed.count()) / 1000.0, seconds);
    std::fflush(stdout);

    // Nothing acknowledged is missing anywhere.
    EXPECT_EQ(found_in_file, acked_ids.size());
    EXPECT_EQ(found_at_receiver, acked_ids.size());
    std::size_t shown = 0;
    for (const auto& id : acked_ids) {
        if (shown < 10 && (in_file.count(id) == 0 || at_receiver.count(id) == 0)) {
            ++shown;
            ADD_FAILURE() << "acknowledged event " << id << " missing"
                          << (in_file.count(id) == 0 ? " from the file" : "")
                          << (at_receiver.count(id) == 0 ? " at the receiver" : "");
        }
    }

    // Every body is acknowledged in the end: a run where most were refused would prove little.
    EXPECT_EQ(acked_ids.size(), event_count);
    for (std::size_t n = 0, shown_refused = 0; n < event_count && shown_refused < 5; ++n) {
        const auto& outcome = report.outcomes[n];
        if (outcome.acknowledged) continue;
        ++shown_refused;
        ADD_FAILURE() << "event " << n << " not acknowledged after " << outcome.attempts
                      << " attempts, last status " << outcome.status << " "
                      << outcome.response_body;
    }

    // The file holds whole records only, and the receiver got each event's own id. NOTE: a
    // kill can cut a record short: Linux stops a write to a file between two pages when a fatal
    // signal is pending. The file sink must then not append the next record to the fragment.
    EXPECT_TRUE(file_contents.bad_lines.empty())
        << file_contents.bad_lines.size()
        << " bad lines, the first: " << file_contents.bad_lines.front();
    std::size_t wrong_ids = 0;
    for (const auto& request : requests) {
        const auto payload = nlohmann::json::parse(request.body, nullptr, false);
        if (payload.is_discarded() || expected_id(payload) != request.header("X-Seshook-Id")) {
            ++wrong_ids;
        }
    }
    EXPECT_EQ(wrong_ids, 0u);

    // The forward sink retries for longer than the outage, so it dead-letters nothing: an event
    // in the dead-letter file never reached the receiver and does not count as delivered.
    EXPECT_TRUE(dead_letters.empty()) << dead_letters.front().dump();
}

TEST_F(CrashTest, NoAcknowledgedEventIsLostAcrossKills) { run_crash_test("kills", "fsync", false); }

TEST_F(CrashTest, ReceiverAwayForAWhileGetsEveryAcknowledgedEventOnceBack) {
    run_crash_test("outage", "fsync", true);
}

// "write" promises to survive a crash of seshook (not of the machine): a kill is such a crash.
TEST_F(CrashTest, WriteDurabilityLosesNothingToKillsEither) {
    run_crash_test("write", "write", false);
}

}  // namespace
}  // namespace seshook::testing
