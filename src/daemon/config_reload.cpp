#include "seshook/daemon/config_reload.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <utility>

#include "seshook/http/access_log.hpp"
#include "seshook/http/callback_handler.hpp"
#include "seshook/sinks/dispatcher.hpp"
#include "seshook/sinks/sink_registry.hpp"
#include "seshook/spool/event_spool.hpp"
#include "seshook/support/logging.hpp"

namespace seshook {
namespace {

std::string address_text(const std::string& host, std::uint16_t port) {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string ms_text(std::chrono::milliseconds value) {
    return std::to_string(value.count()) + " ms";
}

// A key that only a restart can change, and how its value reads in a log line; nothing when the
// key does not apply to the config (a [tls] key without a [tls] table).
struct restart_only_key {
    std::string_view key;
    std::function<std::optional<std::string>(const config&)> value;
};

template <typename Read>
restart_only_key tls_key(std::string_view key, Read read) {
    return {key, [read](const config& cfg) -> std::optional<std::string> {
                if (!cfg.tls) return std::nullopt;
                return read(*cfg.tls);
            }};
}

const std::vector<restart_only_key>& restart_only_keys() {
    static const std::vector<restart_only_key> keys{
        {"server.listen",
         [](const config& c) {
             return c.server.listen_plain ? address_text(c.server.listen_host, c.server.listen_port)
                                          : std::string("\"\" (no plain HTTP)");
         }},
        {"server.io_threads", [](const config& c) { return std::to_string(c.server.io_threads); }},
        {"server.max_connections",
         [](const config& c) { return std::to_string(c.server.max_connections); }},
        {"server.max_connections_per_client",
         [](const config& c) { return std::to_string(c.server.max_connections_per_client); }},
        {"server.max_body_bytes",
         [](const config& c) { return std::to_string(c.server.max_body_bytes); }},
        {"server.max_header_bytes",
         [](const config& c) { return std::to_string(c.server.max_header_bytes); }},
        {"server.max_header_fields",
         [](const config& c) { return std::to_string(c.server.max_header_fields); }},
        {"server.header_timeout", [](const config& c) { return ms_text(c.server.header_timeout); }},
        {"server.request_timeout",
         [](const config& c) { return ms_text(c.server.request_timeout); }},
        {"server.idle_timeout", [](const config& c) { return ms_text(c.server.idle_timeout); }},
        {"tls",
         [](const config& c) { return std::string(c.tls ? "the [tls] table" : "no [tls] table"); }},
        tls_key("tls.listen",
                [](const tls_config& t) { return address_text(t.listen_host, t.listen_port); }),
        tls_key("tls.cert_file", [](const tls_config& t) { return t.cert_file.string(); }),
        tls_key("tls.key_file", [](const tls_config& t) { return t.key_file.string(); }),
        tls_key("tls.min_version",
                [](const tls_config& t) { return std::string(to_string(t.min_version)); }),
        tls_key("tls.ciphers", [](const tls_config& t) { return t.ciphers; }),
        tls_key("tls.ciphersuites", [](const tls_config& t) { return t.ciphersuites; }),
        {"rejects.path", [](const config& c) { return c.rejects_path.string(); }},
        {"spool.durability",
         [](const config& c) { return std::string(to_string(c.spool.durability)); }},
        {"spool.path", [](const config& c) { return c.spool.path.string(); }},
        {"spool.max_bytes", [](const config& c) { return std::to_string(c.spool.max_bytes); }},
        {"dedup.enabled",
         [](const config& c) { return std::string(c.dedup.enabled ? "true" : "false"); }},
        {"dedup.window", [](const config& c) { return ms_text(c.dedup.window); }},
    };
    return keys;
}

bool same_sink(const sink_config& a, const sink_config& b) {
    if (a.type != b.type || a.events != b.events || a.queue_capacity != b.queue_capacity) {
        return false;
    }
    if (!a.options || !b.options) return a.options == b.options;
    return *a.options == *b.options;
}

}  // namespace

std::chrono::seconds retry_after_of(const spool_config& spool) {
    return std::max(std::chrono::seconds(1),
                    std::chrono::duration_cast<std::chrono::seconds>(spool.retry_after));
}

config keep_restart_only(const config& running, const config& fresh,
                         std::vector<restart_only_change>& changes) {
    // Name each key that changed, with the value that stays.
    changes.clear();
    for (const auto& key : restart_only_keys()) {
        const auto before = key.value(running);
        const auto after = key.value(fresh);
        if (!before || !after || *before == *after) continue;
        changes.push_back({std::string(key.key), *before});
    }

    // Then keep the running tables, taking only the keys that apply live from the new one.
    config next = fresh;
    next.server = running.server;
    next.server.callback_path = fresh.server.callback_path;
    next.server.rate_limit = fresh.server.rate_limit;
    next.server.rate_burst = fresh.server.rate_burst;
    next.server.shutdown_grace = fresh.server.shutdown_grace;
    next.tls = running.tls;
    next.rejects_path = running.rejects_path;
    next.spool = running.spool;
    next.spool.retry_after = fresh.spool.retry_after;
    next.dedup = running.dedup;
    return next;
}

sink_plan plan_sink_changes(const std::vector<sink_config>& running,
                            const std::vector<sink_config>& fresh) {
    std::map<std::string_view, const sink_config*> before;
    for (const auto& s : running) before.emplace(s.name, &s);

    sink_plan plan;
    for (std::size_t i = 0; i < fresh.size(); ++i) {
        const auto found = before.find(fresh[i].name);
        if (found == before.end()) {
            plan.added.push_back(i);
        } else {
            if (!same_sink(*found->second, fresh[i])) plan.changed.push_back(i);
            before.erase(found);
        }
    }
    for (const auto& s : running) {
        if (before.contains(s.name)) plan.removed.push_back(s.name);
    }
    return plan;
}

config_reloader::config_reloader(config running, dispatcher& sinks, callback_handler& handler,
                                 event_spool* spool, std::string log_level_override)
    : sinks_(sinks),
      handler_(handler),
      spool_(spool),
      log_level_override_(std::move(log_level_override)),
      current_(std::make_shared<const config>(std::move(running))),
      thread_([this](std::stop_token stop) { run(std::move(stop)); }) {}

config_reloader::~config_reloader() { stop(); }

void config_reloader::request() {
    {
        const std::lock_guard lock(mutex_);
        requested_ = true;
    }
    wake_.notify_one();
}

std::shared_ptr<const config> config_reloader::current() const {
    const std::lock_guard lock(mutex_);
    return current_;
}

void config_reloader::stop() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
}

void config_reloader::run(std::stop_token stop) {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, stop, [this] { return requested_; });
        if (stop.stop_requested()) return;
        requested_ = false;
        lock.unlock();
        reload();
        lock.lock();
    }
}

void config_reloader::reload() {
    const std::shared_ptr<const config> running = current();

    // Read and check the file as --check-config does, sinks built included; a mistake changes
    // nothing.
    config fresh;
    std::vector<std::unique_ptr<sink>> built;
    try {
        fresh = load_config(running->source);
        built = make_sinks(fresh);
    } catch (const std::exception& e) {
        spdlog::error("[reload] {}; the running config stays in force", e.what());
        return;
    }

    // Keep what needs a restart, saying so for each key that changed.
    std::vector<restart_only_change> changes;
    config next = keep_restart_only(*running, fresh, changes);
    for (const auto& change : changes) {
        spdlog::warn("[reload] {} changed: needs a restart, keeping {}", change.key, change.kept);
    }

    // The log first, so that what follows is written as the new config says.
    change_logging(log_level_override_.empty() ? next.log_level : log_level_override_,
                   next.log_output_format);
    set_access_log(next.access_log);

    // Requests that start from now on are judged by the new rules.
    handler_.update(next.server, next.schema, retry_after_of(next.spool), next.auth);

    // Then the sinks, one at a time; one that cannot open keeps the old state of its name.
    try {
        next.sinks = apply_sinks(fresh, built);
    } catch (const std::exception& e) {
        spdlog::critical("[reload] changing the sinks failed: {}", e.what());
        next.sinks = running->sinks;
    }
    {
        const std::lock_guard lock(mutex_);
        current_ = std::make_shared<const config>(std::move(next));
    }
    const auto& now = *current();
    spdlog::info(
        "[reload] {} reloaded: {} sinks, {} tokens, {} basic users, {} allowed networks, {} "
        "accounts, rate limit {}, schema {}, log {} {}{}",
        now.source, now.sinks.size(), now.auth.tokens.size(), now.auth.basic_users.size(),
        now.auth.allow_networks.size(), now.auth.accounts.size(), now.server.rate_limit,
        now.schema.mode == schema_mode::strict ? "strict" : "lenient",
        log_level_override_.empty() ? now.log_level : log_level_override_,
        to_string(now.log_output_format), now.access_log ? " with access log" : "");
}

std::vector<sink_config> config_reloader::apply_sinks(const config& fresh,
                                                      std::vector<std::unique_ptr<sink>>& built) {
    const std::shared_ptr<const config> running = current();
    const sink_plan plan = plan_sink_changes(running->sinks, fresh.sinks);
    const auto grace = fresh.server.shutdown_grace;
    std::vector<sink_config> result = running->sinks;
    const auto place_of = [&](std::string_view name) {
        return std::find_if(result.begin(), result.end(),
                            [&](const sink_config& s) { return s.name == name; });
    };

    // New names first: a renamed sink's new name then starts from the old name's position, which
    // still holds the events back from compaction.
    for (const std::size_t i : plan.added) {
        const sink_config& s = fresh.sinks[i];
        const std::uint64_t start = spool_ != nullptr ? spool_->add_sink(s.name) : 0;
        try {
            sinks_.add(std::move(built[i]), s.queue_capacity);
        } catch (const std::exception& e) {
            if (spool_ != nullptr) spool_->remove_sink(s.name);
            spdlog::error("[reload] sink '{}' not added: {}", s.name, e.what());
            continue;
        }
        result.push_back(s);
        if (spool_ != nullptr && spool_->last_seq() > start) {
            spdlog::info("[reload] {} '{}' added: it starts with the {} events still in the spool",
                         s.type, s.name, spool_->last_seq() - start);
        } else {
            spdlog::info("[reload] {} '{}' added", s.type, s.name);
        }
    }

    // Changed settings: the new sink takes over where the old one was.
    for (const std::size_t i : plan.changed) {
        const sink_config& s = fresh.sinks[i];
        try {
            sinks_.replace(std::move(built[i]), s.queue_capacity, grace);
        } catch (const std::exception& e) {
            spdlog::error("[reload] sink '{}' keeps its old settings: {}", s.name, e.what());
            continue;
        }
        *place_of(s.name) = s;
        spdlog::info("[reload] {} '{}' changed: its new settings are in force", s.type, s.name);
    }

    // Names no longer configured go last.
    for (const auto& name : plan.removed) {
        sinks_.remove(name, grace);
        if (spool_ != nullptr) spool_->remove_sink(name);
        result.erase(place_of(name));
        spdlog::info("[reload] sink '{}' removed{}", name,
                     spool_ != nullptr ? ": the spool no longer keeps events for it" : "");
    }
    return result;
}

}  // namespace seshook
