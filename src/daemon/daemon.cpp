#include "seshook/daemon/daemon.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <system_error>
#include <thread>
#include <vector>

#include "seshook/auth/network_list.hpp"
#include "seshook/daemon/config_reload.hpp"
#include "seshook/daemon/intakes.hpp"
#include "seshook/daemon/operations.hpp"
#include "seshook/daemon/service_notifier.hpp"
#include "seshook/daemon/service_status.hpp"
#include "seshook/daemon/socket_activation.hpp"
#include "seshook/event/recent_ids.hpp"
#include "seshook/http/access_log.hpp"
#include "seshook/http/server.hpp"
#include "seshook/http/tls_context.hpp"
#include "seshook/sinks/dispatcher.hpp"
#include "seshook/sinks/rejects_store.hpp"
#include "seshook/sinks/sink_registry.hpp"
#include "seshook/spool/event_spool.hpp"
#include "seshook/spool/spool_writer.hpp"
#include "seshook/support/printable.hpp"

namespace seshook {

namespace net = boost::asio;
using std::chrono::steady_clock;

namespace {

constexpr auto drain_poll_interval = std::chrono::milliseconds(20);

unsigned io_thread_count(const server_config& server) {
    if (server.io_threads > 0) return server.io_threads;
    return std::max(1u, std::thread::hardware_concurrency());
}

// Ends the I/O loop once every connection has closed or the deadline has passed.
void stop_when_drained(net::io_context& io, net::steady_timer& timer, server& srv,
                       steady_clock::time_point deadline) {
    if (srv.open_connections() == 0 || steady_clock::now() >= deadline) {
        if (srv.open_connections() > 0) {
            spdlog::warn("[daemon] {} connections still open at the end of the grace period",
                         srv.open_connections());
        }
        io.stop();
        return;
    }
    timer.expires_after(drain_poll_interval);
    timer.async_wait([&io, &timer, &srv, deadline](const boost::system::error_code& ec) {
        if (!ec) stop_when_drained(io, timer, srv, deadline);
    });
}

// Runs the I/O loop on this thread. An exception that escapes a completion handler ends only
// the connection it belonged to (its session is released); the loop goes on serving the others.
void run_io(net::io_context& io) {
    for (;;) {
        try {
            io.run();
            return;
        } catch (const std::exception& e) {
            spdlog::critical(
                "[daemon] unexpected error on an I/O thread, one connection dropped: {}", e.what());
        }
    }
}

// Raises the open-file limit to its hard maximum and returns the number of connections that fit
// under it, keeping room for the files, sinks and listeners seshook itself holds.
std::size_t connections_that_fit(std::size_t wanted) {
    constexpr rlim_t reserved_descriptors = 64;
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return wanted;
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur <= reserved_descriptors) return wanted;
    const auto fit = static_cast<std::size_t>(limit.rlim_cur - reserved_descriptors);
    if (fit >= wanted) return wanted;
    spdlog::warn(
        "[server] max_connections {} lowered to {}: the open-file limit is {} (raise it, "
        "e.g. LimitNOFILE= in the systemd unit or ulimit -n)",
        wanted, fit, static_cast<unsigned long long>(limit.rlim_cur));
    return fit;
}

// Says who may post, counting secrets without showing them, and warns for each of the bound
// addresses (plain and TLS) where anyone on the network may.
void log_auth(const config& cfg, const std::vector<net::ip::address>& bound) {
    const auth_config& auth = cfg.auth;
    // NOTE: the bound addresses are checked, not the config's: SESHOOK_LISTEN may have moved
    // the loopback default to a public address.
    for (const auto& address : bound) {
        if (const auto warning = open_endpoint_warning(auth, address.to_string())) {
            spdlog::warn("[auth] {}", *warning);
        }
    }
    if (!auth.tokens.empty() || !auth.basic_users.empty()) {
        spdlog::info("[auth] callbacks need a secret: {} tokens, {} basic users",
                     auth.tokens.size(), auth.basic_users.size());
    }
    if (!auth.allow_networks.empty() || !auth.trusted_proxies.empty() || !auth.accounts.empty()) {
        spdlog::info("[auth] {} allowed networks ({}), {} trusted proxies, {} accounts ({})",
                     auth.allow_networks.size(),
                     auth.allow_networks.empty() ? "any client" : "others get 403",
                     auth.trusted_proxies.size(), auth.accounts.size(),
                     auth.accounts.empty() ? "any account" : "others get 403");
    }
    if (cfg.server.rate_limit > 0) {
        spdlog::info("[auth] rate limit: {} requests a second per client, bursts of {}",
                     cfg.server.rate_limit, cfg.server.rate_burst);
    }
}

// Returns "127.0.0.1:8080" or "[::1]:8080".
std::string address_text(const net::ip::tcp::endpoint& endpoint) {
    const auto address = endpoint.address();
    return (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" +
           std::to_string(endpoint.port());
}

// Returns where the daemon listens, for its status: "127.0.0.1:8080 (http), [::]:8081 (https)".
std::string listening_summary(const server& srv, bool plain, bool tls) {
    std::string text;
    if (plain) text = address_text(srv.local_endpoint()) + " (http)";
    if (plain && tls) text += ", ";
    if (tls) text += address_text(srv.tls_endpoint()) + " (https)";
    return text;
}

// NOTE: tests/support/daemon_process finds the ports in the "[server] listening on" and "[tls]
// listening on" lines; keep their wording in step.
void log_listeners(const config& cfg, const server& srv, const tls_context_store* tls,
                   unsigned threads) {
    const std::string path = masked_path(cfg.server.callback_path);
    const char* mode = cfg.schema.mode == schema_mode::strict ? "strict" : "lenient";
    if (cfg.server.listen_plain) {
        spdlog::info("[server] listening on {} path {} ({} I/O threads, schema {})",
                     address_text(srv.local_endpoint()), path, threads, mode);
    } else {
        spdlog::info("[server] plain HTTP off, HTTPS only ({} I/O threads, schema {})", threads,
                     mode);
    }
    if (tls != nullptr) {
        spdlog::info("[tls] listening on {} path {} (TLS {} or later): {}",
                     address_text(srv.tls_endpoint()), path, to_string(tls->settings().min_version),
                     tls->certificate());
    }
}

void log_effective_config(const config& cfg, const server_config& settings, const server& srv,
                          const tls_context_store* tls, unsigned threads) {
    log_listeners(cfg, srv, tls, threads);
    spdlog::info(
        "[server] limits: body {} bytes, head {} bytes in {} fields, header timeout {} ms, "
        "request timeout {} ms, idle timeout {} ms, {} connections, {} per client",
        settings.max_body_bytes, settings.max_header_bytes, settings.max_header_fields,
        settings.header_timeout.count(), settings.request_timeout.count(),
        settings.idle_timeout.count(), settings.max_connections,
        settings.max_connections_per_client == 0
            ? std::string("no cap")
            : std::to_string(settings.max_connections_per_client));
    for (const auto& s : cfg.sinks) {
        spdlog::info("[sinks] {} '{}' ({} events, queue {})", s.type, s.name,
                     s.events.empty() ? std::string("all") : fmt::format("{}", s.events.size()),
                     s.queue_capacity);
    }
    std::vector<net::ip::address> bound;
    if (cfg.server.listen_plain) bound.push_back(srv.local_endpoint().address());
    if (tls != nullptr) bound.push_back(srv.tls_endpoint().address());
    log_auth(cfg, bound);
    spdlog::info("[rejects] keeping refused bodies in {}", cfg.rejects_path.string());
    if (cfg.dedup.enabled) {
        spdlog::info("[dedup] repeats within {} s are answered and not dispatched again",
                     std::chrono::duration_cast<std::chrono::seconds>(cfg.dedup.window).count());
    } else {
        spdlog::info("[dedup] off: every repeat is dispatched again");
    }
}

// Opens the spool of `cfg`, logging what it found there (a corrupt spool loudly); throws
// spool_error when it cannot be opened.
std::unique_ptr<event_spool> open_spool(const config& cfg) {
    event_spool::options options;
    options.path = cfg.spool.path;
    options.durability = cfg.spool.durability == durability_mode::fsync ? spool_durability::fsync
                                                                        : spool_durability::write;
    options.max_bytes = cfg.spool.max_bytes;
    options.dedup_window = cfg.dedup.enabled ? cfg.dedup.window : std::chrono::milliseconds(0);
    for (const auto& s : cfg.sinks) options.sink_names.push_back(s.name);

    event_spool::open_report report;
    auto spool = event_spool::open(options, report);
    if (!report.corruption.empty()) {
        spdlog::error("[spool] {} was corrupt: {}", cfg.spool.path.string(), report.corruption);
    }
    for (const auto& note : report.notes) spdlog::warn("[spool] {}", note);
    spdlog::info("[spool] {} ({}): {} events awaiting sinks ({} bytes of at most {}), last seq {}",
                 cfg.spool.path.string(), to_string(cfg.spool.durability), report.events,
                 report.bytes, cfg.spool.max_bytes, report.last_seq);
    return spool;
}

}  // namespace

std::optional<std::string> open_endpoint_warning(const auth_config& auth, std::string_view bound) {
    if (!auth.tokens.empty() || !auth.basic_users.empty()) return std::nullopt;
    const auto address = parse_ip_address(bound);
    if (address && is_loopback(*address)) return std::nullopt;
    return fmt::format(
        "the endpoint listens on {} with neither [auth] tokens nor basic_users: it accepts "
        "callbacks from anyone who can reach it",
        bound);
}

int run_daemon(const config& cfg, const std::string& log_level_override) {
    set_access_log(cfg.access_log);

    // Load the certificate of the HTTPS listener before anything opens. main() checked it
    // already, but the files may have changed since.
    std::shared_ptr<tls_context_store> tls;
    if (cfg.tls) {
        try {
            tls = std::make_shared<tls_context_store>(*cfg.tls, cfg.source);
        } catch (const config_error& e) {
            spdlog::critical("[tls] {}", e.what());
            return 1;
        }
    }

    // What an operator sees: metrics and readiness, filled in as the parts start.
    daemon_operations operations(cfg);

    // Open where refused and undeliverable bodies go, before anything can be refused.
    rejects_store rejects(cfg.rejects_path);
    try {
        rejects.start();
    } catch (const std::exception& e) {
        spdlog::critical("[rejects] cannot open {}: {}", cfg.rejects_path.string(), e.what());
        return 1;
    }

    // Build and open the sinks; what one cannot take goes to the rejects file.
    dispatcher sinks(make_sinks(cfg), [&rejects](const record& r, std::string_view sink_name,
                                                 std::string_view why) {
        rejects.keep(why, fmt::format("sink '{}' did not take event {}", sink_name, r.event.id),
                     r.peer, r.event.raw);
    });
    for (const auto& s : cfg.sinks) sinks.set_queue_capacity(s.name, s.queue_capacity);

    // Open the spool, from which each sink first takes what it had not taken before the last
    // stop; in memory mode there is none.
    std::unique_ptr<event_spool> spool;
    if (cfg.spool.durability != durability_mode::memory) {
        try {
            spool = open_spool(cfg);
        } catch (const std::exception& e) {
            spdlog::critical("[spool] cannot open: {}", e.what());
            rejects.stop();
            return 1;
        }
        sinks.use_spool(*spool, cfg.spool.durability == durability_mode::fsync);
    } else if (std::error_code ec; std::filesystem::exists(cfg.spool.path, ec)) {
        spdlog::warn(
            "[spool] durability is \"memory\", but {} exists: events still waiting in it "
            "are not delivered until durability is \"fsync\" or \"write\" again",
            cfg.spool.path.string());
    }
    try {
        sinks.start();
    } catch (const std::exception& e) {
        spdlog::critical("[sinks] cannot start: {}", e.what());
        rejects.stop();
        return 1;
    }

    // Choose the intake: the spool's group commit, or straight to the sink queues.
    std::unique_ptr<spool_writer> writer;
    std::unique_ptr<recent_ids> recent;
    std::unique_ptr<event_intake> intake;
    if (spool) {
        writer = std::make_unique<spool_writer>(
            *spool, [&sinks, &operations](std::span<const stored_event> events) {
                operations.count_committed(events);
                sinks.dispatch(events);
            });
        intake = std::make_unique<spool_intake>(*writer);
    } else {
        if (cfg.dedup.enabled) recent = std::make_unique<recent_ids>(cfg.dedup.window);
        intake = std::make_unique<memory_intake>(sinks, recent.get(), &operations.metrics());
    }
    const auto retry_after = retry_after_of(cfg.spool);

    // Listen.
    const unsigned threads = io_thread_count(cfg.server);
    net::io_context io(static_cast<int>(threads));
    server_config server_settings = cfg.server;
    server_settings.max_connections = connections_that_fit(cfg.server.max_connections);
    callback_handler handler(server_settings, cfg.schema, *intake, rejects, retry_after, cfg.auth);
    handler.use_operations(operations.for_handler());
    server srv(io, server_settings, handler, tls);
    operations.watch(sinks, spool.get(), writer.get(), srv, tls.get());
    try {
        srv.start(take_passed_listeners(cfg.server.listen_plain, tls != nullptr));
        operations.start_listener(io);
        operations.ready().set_listening();
    } catch (const std::exception& e) {
        spdlog::critical("[server] {}", e.what());
        sinks.stop(cfg.server.shutdown_grace);
        if (writer) writer->stop();
        rejects.stop();
        return 1;
    }

    // Keep systemd, when it started us, informed until the stop: status and keep-alives.
    service_notifier notifier(
        io, [&, listening = listening_summary(srv, cfg.server.listen_plain, tls != nullptr)] {
            return service_status(listening, handler.counters(), sinks.sinks());
        });

    // The config file is read again on SIGHUP, on a thread of the reloader's own.
    config_reloader reloader(cfg, sinks, handler, spool.get(), log_level_override);

    // SIGHUP reopens files, reloads the certificate and the config; SIGTERM and SIGINT begin a
    // graceful stop.
    const auto stop_deadline = std::make_shared<steady_clock::time_point>();
    net::steady_timer drain_timer(io);
    net::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
    std::function<void(const boost::system::error_code&, int)> on_signal =
        [&](const boost::system::error_code& ec, int signal_number) {
            if (ec) return;
            if (signal_number == SIGHUP) {
                spdlog::info("[daemon] SIGHUP: reopening files{}, reloading {}",
                             tls ? ", reloading the certificate" : "", cfg.source);
                sinks.reopen();
                rejects.reopen();
                if (tls) tls->reload();
                reloader.request();
                signals.async_wait(on_signal);
                return;
            }
            operations.ready().set_draining();
            const auto grace = reloader.current()->server.shutdown_grace;
            spdlog::info("[daemon] signal {}: stopping (grace {} ms)", signal_number,
                         grace.count());
            *stop_deadline = steady_clock::now() + grace;
            notifier.stopping(fmt::format("stopping: draining {} connections, then the sinks",
                                          srv.open_connections()));
            srv.stop();
            signals.cancel();
            stop_when_drained(io, drain_timer, srv, *stop_deadline);
        };
    signals.async_wait(on_signal);

    // NOTE: announced only now: a supervisor may signal as soon as it reads the listening line,
    // and a signal that came before the signal set was installed would kill the process.
    log_effective_config(cfg, server_settings, srv, tls.get(), threads);
    notifier.ready();

    // Serve on every I/O thread until the stop completes.
    std::vector<std::thread> pool;
    pool.reserve(threads - 1);
    for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&io] { run_io(io); });
    run_io(io);
    for (auto& t : pool) t.join();
    operations.release_listener();

    // Let a reload in progress finish, then the sinks drain in what is left of the grace
    // period; what remains is kept.
    reloader.stop();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::max(*stop_deadline - steady_clock::now(), steady_clock::duration::zero()));
    const bool drained = sinks.stop(left);
    const std::size_t undrained = sinks.queued();

    // NOTE: the writer stops after the sinks, so that its last maintenance persists the
    // positions they reached; it is idle by now, since the connections are closed.
    if (writer) writer->stop();
    rejects.stop();
    const auto& c = handler.counters();
    std::string left_over;
    if (!drained && spool) {
        left_over = fmt::format("; {} events stay in the spool for the next start", undrained);
    } else if (!drained) {
        left_over = "; undrained events were kept in the rejects file";
    }
    // NOTE: bench/spool_durability.sh reads this line; keep its wording in step.
    const std::string commits =
        spool ? fmt::format(", {} spool transactions", spool->transactions()) : std::string();
    spdlog::info(
        "[daemon] stopped: {} events accepted in {} requests, {} repeats, {} requests "
        "rejected{}{}",
        c.events_accepted.load(), c.requests_accepted.load(), c.duplicate_events.load(),
        c.requests_rejected.load(), commits, left_over);
    if (tls) spdlog::info("[tls] failed handshakes: {}", tls->failed_handshakes());
    return 0;
}

}  // namespace seshook
