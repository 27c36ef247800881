#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "seshook/config/config.hpp"

namespace seshook {

class callback_handler;
class dispatcher;
class event_spool;
class sink;

/// Returns the Retry-After of a 503 for a full spool: `[spool] retry_after` in whole seconds,
/// at least one.
std::chrono::seconds retry_after_of(const spool_config& spool);

/// A key whose new value needs a restart, and the value that stays in force until then.
struct restart_only_change {
    std::string key;   // "server.listen"
    std::string kept;  // "127.0.0.1:8080"
};

/// Returns `fresh` with every key that only a restart can change put back to its value in
/// `running` (listen addresses, [tls], connection limits and timeouts, I/O threads, the rejects
/// file, [spool] but retry_after, [dedup]), and lists in `changes` each such key whose value
/// differs. What applies live is taken from `fresh`: sinks, [auth], [schema], [log], the
/// callback path, rate limit and burst, shutdown grace and the spool's retry_after.
config keep_restart_only(const config& running, const config& fresh,
                         std::vector<restart_only_change>& changes);

/// What a reload does to the sinks, by name: indexes into the fresh config's sinks for those
/// added or changed, names of the running ones for those removed.
struct sink_plan {
    std::vector<std::size_t> added;    // new names
    std::vector<std::size_t> changed;  // same name, other type, filter, queue or options
    std::vector<std::string> removed;  // names no longer configured
};

/// Compares the sinks of the running config with those of the fresh one.
sink_plan plan_sink_changes(const std::vector<sink_config>& running,
                            const std::vector<sink_config>& fresh);

/// Re-reads the config file on request (SIGHUP) on a thread of its own, off the I/O threads, and
/// applies it live: a file that does not load (the same checks as --check-config, sinks built
/// included) is refused with an error naming the key and changes nothing; otherwise the sinks
/// are added, replaced and removed without losing a queued event, the handler gets the new
/// auth, rate limit and schema, the log its new level and format, and each key that needs a
/// restart is logged at warn and kept.
class config_reloader {
public:
    /// `spool` is null in memory mode; `log_level_override` is the --log-level of the command
    /// line ("" for none), which stays in force over `[log] level`.
    config_reloader(config running, dispatcher& sinks, callback_handler& handler,
                    event_spool* spool, std::string log_level_override);
    ~config_reloader();
    config_reloader(const config_reloader&) = delete;
    config_reloader& operator=(const config_reloader&) = delete;

    /// Asks for a reload of the file the running config came from; returns at once. Requests
    /// that come while one runs are served by one more reload after it.
    void request();

    /// Returns the config in force now.
    std::shared_ptr<const config> current() const;

    /// Waits for a reload in progress, then ends the thread; requests after it are ignored.
    void stop();

    /// Reloads at once on the caller's thread (what the thread does for each request).
    void reload();

private:
    void run(std::stop_token stop);
    std::vector<sink_config> apply_sinks(const config& fresh,
                                         std::vector<std::unique_ptr<sink>>& built);

    dispatcher& sinks_;
    callback_handler& handler_;
    event_spool* spool_;
    std::string log_level_override_;

    mutable std::mutex mutex_;
    std::condition_variable_any wake_;
    std::shared_ptr<const config> current_;
    bool requested_ = false;
    std::jthread thread_;
};

}  // namespace seshook
