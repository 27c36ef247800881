#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <span>

#include "seshook/config/config.hpp"
#include "seshook/http/callback_handler.hpp"
#include "seshook/metrics/endpoint_metrics.hpp"
#include "seshook/metrics/exposition.hpp"
#include "seshook/metrics/metrics_listener.hpp"
#include "seshook/metrics/readiness.hpp"
#include "seshook/metrics/status_pages.hpp"
#include "seshook/spool/event_spool.hpp"

namespace seshook {

class dispatcher;
class server;
class spool_writer;
class tls_context_store;

/// What an operator sees of the running daemon: its metrics, its readiness, the pages that
/// show them, and with `[metrics] listen` the listener of their own. run_daemon builds it
/// first and shows it each part of the daemon as that part starts.
class daemon_operations {
public:
    /// Registers the metrics of the process (start time, build info) and of the endpoint.
    explicit daemon_operations(const config& cfg);
    ~daemon_operations();
    daemon_operations(const daemon_operations&) = delete;
    daemon_operations& operator=(const daemon_operations&) = delete;

    endpoint_metrics& metrics() noexcept { return metrics_; }
    readiness& ready() noexcept { return ready_; }

    /// Returns the text a scrape of /metrics gets now.
    std::string metrics_text() const { return exposition_.text(); }

    /// Returns what the callback handler counts into and serves: /readyz always, /metrics
    /// unless the metrics have a listener of their own.
    handler_operations for_handler() noexcept;

    /// Counts the events just committed to the spool as accepted (the spool left the repeats
    /// out). Called on the spool writer's thread.
    void count_committed(std::span<const stored_event> events) noexcept;

    /// Reads the figures of the running parts at each scrape: connections, sink counters and
    /// queues, and the spool when there is one (`spool` and `writer` null in memory mode).
    /// Every part must outlive the last scrape. Call once, before serving.
    void watch(const dispatcher& sinks, const event_spool* spool, const spool_writer* writer,
               const server& srv, const tls_context_store* tls);

    /// With `[metrics] listen`, binds the metrics listener on `io` and logs its address;
    /// throws std::runtime_error naming the key and the address when it cannot listen.
    void start_listener(boost::asio::io_context& io);

    /// Lets go of the metrics listener; call once `io` stopped running, before it is destroyed.
    void release_listener() noexcept;

private:
    const config& cfg_;
    exposition exposition_;
    endpoint_metrics metrics_;
    readiness ready_;
    status_pages pages_;
    std::unique_ptr<metrics_listener> listener_;
};

}  // namespace seshook
