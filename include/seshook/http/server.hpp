#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "seshook/config/config.hpp"
#include "seshook/http/callback_handler.hpp"

namespace seshook {

class listener;
class session;

/// The HTTP/1.1 endpoint: one acceptor shared by the I/O threads that run `io`, and one
/// session per connection. It knows its live sessions so that stop() can end them gracefully.
class server {
public:
    server(boost::asio::io_context& io, const server_config& config, callback_handler& handler);
    ~server();

    /// Binds and starts accepting; throws std::system_error naming the address on failure.
    void start();

    /// Returns the bound address (useful with port 0).
    boost::asio::ip::tcp::endpoint local_endpoint() const;

    /// Stops accepting, closes idle connections, and lets requests being read or answered
    /// finish; each such connection closes after its answer.
    void stop();

    /// Returns the number of open connections.
    std::size_t open_connections() const noexcept;

private:
    boost::asio::io_context& io_;
    const server_config& config_;
    callback_handler& handler_;
    std::shared_ptr<listener> listener_;
};

}  // namespace seshook
