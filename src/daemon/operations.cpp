#include "seshook/daemon/operations.hpp"

#include <prometheus/gauge.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "seshook/http/server.hpp"
#include "seshook/http/tls_context.hpp"
#include "seshook/sinks/dispatcher.hpp"
#include "seshook/spool/spool_writer.hpp"

#ifndef SESHOOK_VERSION
#define SESHOOK_VERSION "unknown"
#endif

namespace seshook {
namespace {

using prometheus::MetricType;

// Returns "127.0.0.1:9090" or "[::1]:9090".
std::string address_text(const boost::asio::ip::tcp::endpoint& endpoint) {
    const auto address = endpoint.address();
    return (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" +
           std::to_string(endpoint.port());
}

// Adds a family of one series without labels whose value `read` gives at each scrape.
template <typename Read>
void add_single(exposition& out, std::string name, std::string help, MetricType type, Read read) {
    out.add_pulled(std::move(name), std::move(help), type,
                   [read = std::move(read)](std::vector<pulled_sample>& samples) {
                       samples.push_back({{}, static_cast<double>(read())});
                   });
}

// Adds a family with one series per sink, labelled with its name and type, whose value `read`
// gives from the sink.
template <typename Read>
void add_per_sink(exposition& out, const dispatcher& sinks, std::string name, std::string help,
                  MetricType type, Read read) {
    out.add_pulled(std::move(name), std::move(help), type,
                   [&sinks, read = std::move(read)](std::vector<pulled_sample>& samples) {
                       const auto all = sinks.sinks();
                       for (const sink* s : all) {
                           samples.push_back({{{"sink", s->name()}, {"type", s->type()}},
                                              static_cast<double>(read(*s))});
                       }
                   });
}

}  // namespace

daemon_operations::daemon_operations(const config& cfg)
    : cfg_(cfg), metrics_(exposition_), pages_(exposition_, ready_) {
    // What runs: since when, and which build.
    auto& registry = exposition_.registry();
    const auto started =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch());
    prometheus::BuildGauge()
        .Name("process_start_time_seconds")
        .Help("Start time of the process since the Unix epoch, in seconds.")
        .Register(registry)
        .Add({})
        .Set(started.count());
    prometheus::BuildGauge()
        .Name("seshook_build_info")
        .Help("Always 1; the labels name the build of seshook that runs.")
        .Register(registry)
        .Add({{"version", SESHOOK_VERSION}})
        .Set(1);
    add_single(exposition_, "seshook_ready",
               "1 when /readyz answers 200 (listening, spool writable, not draining), else 0.",
               MetricType::Gauge, [this] { return ready_.ready() ? 1 : 0; });
}

daemon_operations::~daemon_operations() = default;

handler_operations daemon_operations::for_handler() noexcept {
    handler_operations operations;
    operations.metrics = &metrics_;
    operations.pages = &pages_;
    operations.serve_metrics = !cfg_.metrics.listen_separately;
    return operations;
}

void daemon_operations::count_committed(std::span<const stored_event> events) noexcept {
    for (const auto& e : events) metrics_.count_accepted(e.rec->event.type);
}

void daemon_operations::watch(const dispatcher& sinks, const event_spool* spool,
                              const spool_writer* writer, const server& srv,
                              const tls_context_store* tls) {
    // The connections of the callback listeners.
    add_single(exposition_, "seshook_http_open_connections",
               "Connections open to the callback listeners, plain and TLS together.",
               MetricType::Gauge, [&srv] { return srv.open_connections(); });
    if (tls != nullptr) {
        add_single(
            exposition_, "seshook_tls_failed_handshakes_total",
            "TLS handshakes that failed (scanners, plain HTTP on the TLS port, old clients).",
            MetricType::Counter, [tls] { return tls->failed_handshakes(); });
    }

    // Each sink: what it has still to take, and what became of what it took.
    exposition_.add_pulled(
        "seshook_sink_queue_events",
        "Events a sink has still to take: queued in memory, or waiting in the spool.",
        MetricType::Gauge, [&sinks](std::vector<pulled_sample>& samples) {
            const auto all = sinks.sinks();
            const auto depths = sinks.queue_depths();
            for (std::size_t i = 0; i < all.size() && i < depths.size(); ++i) {
                samples.push_back({{{"sink", all[i]->name()}, {"type", all[i]->type()}},
                                   static_cast<double>(depths[i])});
            }
        });
    add_per_sink(exposition_, sinks, "seshook_sink_delivered_total",
                 "Events a sink delivered (written, sent, logged).", MetricType::Counter,
                 [](const sink& s) { return s.counters().delivered.load(); });
    add_per_sink(exposition_, sinks, "seshook_sink_failed_total",
                 "Events a sink could not take; taken again from the spool, or kept in the "
                 "rejects file without one.",
                 MetricType::Counter, [](const sink& s) { return s.counters().failed.load(); });
    add_per_sink(exposition_, sinks, "seshook_sink_retries_total",
                 "Attempts a sink made again after a failed one (forward sinks).",
                 MetricType::Counter, [](const sink& s) { return s.counters().retried.load(); });
    add_per_sink(exposition_, sinks, "seshook_sink_dead_lettered_total",
                 "Events a sink gave up on and kept in its dead-letter file.", MetricType::Counter,
                 [](const sink& s) { return s.counters().dead_lettered.load(); });

    // The spool: what waits in it, how full it is, and whether it can be written.
    if (spool == nullptr) return;
    add_single(exposition_, "seshook_spool_events",
               "Events in the spool that some sink has still to take.", MetricType::Gauge,
               [&sinks] { return sinks.queued(); });
    add_single(exposition_, "seshook_spool_bytes",
               "Payload bytes of the events stored in the spool (compacted every second).",
               MetricType::Gauge, [spool] { return spool->stored_bytes(); });
    add_single(exposition_, "seshook_spool_max_bytes",
               "Payload bytes the spool holds at most ([spool] max_bytes).", MetricType::Gauge,
               [spool] { return spool->max_bytes(); });
    add_single(exposition_, "seshook_spool_transactions_total",
               "Commit transactions of the spool; one serves many callbacks (group commit).",
               MetricType::Counter, [spool] { return spool->transactions(); });
    if (writer != nullptr) {
        ready_.watch_spool([writer] { return writer->failing(); });
    }
}

void daemon_operations::start_listener(boost::asio::io_context& io) {
    if (!cfg_.metrics.listen_separately) return;
    auto listener = std::make_unique<metrics_listener>(io, pages_, cfg_.metrics.listen_host,
                                                       cfg_.metrics.listen_port);
    try {
        listener->start();
    } catch (const std::system_error& e) {
        throw std::runtime_error("metrics.listen: " + std::string(e.what()));
    }
    // NOTE: tests/support/daemon_process finds the port in this line; keep its wording.
    spdlog::info("[metrics] listening on {} for /metrics, /healthz and /readyz",
                 address_text(listener->local_endpoint()));
    listener_ = std::move(listener);
}

void daemon_operations::release_listener() noexcept {
    if (listener_) listener_->stop();
    listener_.reset();
}

}  // namespace seshook
