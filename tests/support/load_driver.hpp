#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <vector>

namespace seshook::testing {

/// Returns the port the daemon listens on now, or 0 while it is down (e.g. being restarted);
/// called from many threads at once.
using port_provider = std::function<std::uint16_t()>;

/// How run_load() sends its bodies.
struct load_options {
    std::string target = "/callback";
    std::size_t connections = 16;  // concurrent keep-alive connections, one thread each
    // Sends of one body at most. A connect that fails is not a send: while the daemon is down
    // a body waits, bounded by `time_limit`, without using up its attempts.
    std::size_t max_attempts = 50;
    std::chrono::milliseconds response_timeout{5'000};  // wait for one answer
    std::chrono::milliseconds retry_pause{20};          // after a failure, or while the port is 0
    std::chrono::milliseconds time_limit{60'000};       // the whole run; open bodies give up then
    std::atomic<std::size_t>* acknowledged = nullptr;   // when set, counts the 200s as they come
    std::stop_token stop;  // once stop is requested, open bodies give up
};

/// What became of one body.
struct body_outcome {
    bool acknowledged = false;  // answered 200
    std::size_t attempts = 0;   // sends, the last one included
    unsigned status = 0;        // status of the last answer; 0 when none came
    std::string response_body;  // body of the last answer
};

/// The outcome of a run: one entry per body, in the order the bodies were given.
struct load_report {
    std::vector<body_outcome> outcomes;
    std::size_t lost_answers = 0;      // sends that got no answer (connection cut, timeout)
    std::size_t connect_failures = 0;  // connects refused, e.g. while the daemon restarted
    std::chrono::milliseconds elapsed{0};

    /// Returns how many bodies were answered 200.
    std::size_t acknowledged_count() const;
};

/// Posts every body once to 127.0.0.1 on the port `port` names, from `options.connections`
/// concurrent keep-alive connections, the way Tencent delivers callbacks: a send that gets no
/// answer, a 5xx or a 429 is sent again (on a new connection, to the port `port` names then)
/// until it is answered 200 or runs out of attempts; any other answer is final. A connection
/// is opened again whenever the port changes. Blocks until every body has an outcome.
load_report run_load(const port_provider& port, const std::vector<std::string>& bodies,
                     const load_options& options = {});

}  // namespace seshook::testing
