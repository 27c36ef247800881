#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "seshook/config/config.hpp"
#include "seshook/http/callback_handler.hpp"
#include "seshook/http/tls_context.hpp"

namespace seshook {

class listener;
class session;
class session_registry;

/// Listening sockets a service manager handed over (socket activation), to serve on instead of
/// binding the configured addresses; -1 where none was passed.
struct passed_listeners {
    int plain = -1;
    int tls = -1;
};

/// The HTTP/1.1 endpoint: a plain listener (unless `[server] listen` is empty) and, with a TLS
/// context store, an HTTPS listener, both served by the I/O threads that run `io`, with one
/// session per connection. It knows its live sessions so that stop() can end them gracefully.
class server {
public:
    /// `tls`: the contexts of the HTTPS listener on its `listen` address; null for none.
    server(boost::asio::io_context& io, const server_config& config, callback_handler& handler,
           std::shared_ptr<tls_context_store> tls = nullptr);
    ~server();

    /// Binds every listener, or takes over the socket `passed` holds for it, and starts
    /// accepting; throws std::system_error naming the address or the descriptor on failure.
    void start(passed_listeners passed = {});

    /// Returns the bound address of the plain listener (useful with port 0); an empty endpoint
    /// when there is none.
    boost::asio::ip::tcp::endpoint local_endpoint() const;

    /// Returns the bound address of the HTTPS listener; an empty endpoint when there is none.
    boost::asio::ip::tcp::endpoint tls_endpoint() const;

    /// Stops accepting, closes idle connections, and lets requests being read or answered
    /// finish; each such connection closes after its answer.
    void stop();

    /// Returns the number of open connections, plain and TLS together.
    std::size_t open_connections() const noexcept;

private:
    boost::asio::io_context& io_;
    const server_config& config_;
    callback_handler& handler_;
    std::shared_ptr<tls_context_store> tls_;
    std::shared_ptr<session_registry> registry_;
    std::shared_ptr<listener> plain_listener_;
    std::shared_ptr<listener> tls_listener_;
};

}  // namespace seshook
