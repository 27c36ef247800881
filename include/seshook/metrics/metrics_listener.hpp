#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "seshook/metrics/status_pages.hpp"

namespace seshook {

/// A plain HTTP listener of its own that serves /metrics, /healthz and /readyz only (`[metrics]
/// listen`), so that the figures need not be served where the callbacks come in. Every other
/// path is 404. It has small limits of its own (few connections, a small head and body, short
/// timeouts), and keeps serving while the daemon drains, so that /readyz can say so.
class metrics_listener {
public:
    /// At most this many connections are open at once; more are closed at once.
    static constexpr std::size_t max_connections = 64;

    /// `pages` must outlive the listener and every connection it serves (they run on `io`).
    metrics_listener(boost::asio::io_context& io, const status_pages& pages, std::string host,
                     std::uint16_t port);
    ~metrics_listener();
    metrics_listener(const metrics_listener&) = delete;
    metrics_listener& operator=(const metrics_listener&) = delete;

    /// Binds and starts accepting; throws std::system_error naming the address on failure.
    void start();

    /// Returns the bound address (useful with port 0).
    boost::asio::ip::tcp::endpoint local_endpoint() const;

    /// Stops accepting; open connections end after their current answer.
    void stop();

private:
    struct acceptor_state;
    std::shared_ptr<acceptor_state> state_;
};

}  // namespace seshook
