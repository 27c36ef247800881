#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <chrono>
#include <memory>
#include <optional>

#include "http/session.hpp"
#include "seshook/config/config.hpp"
#include "seshook/http/callback_handler.hpp"
#include "seshook/http/tls_context.hpp"
#include "seshook/support/error_reporter.hpp"

namespace seshook {

/// Accepts connections on one address and starts a session for each on its own strand.
class listener : public std::enable_shared_from_this<listener> {
public:
    /// Listens on `where`; its sessions join `registry`, which may be shared with another
    /// listener so that the connection limit counts both. With `tls`, every connection speaks
    /// TLS with the store's context of the moment it was accepted.
    listener(boost::asio::io_context& io, const server_config& config, listen_address where,
             callback_handler& handler, std::shared_ptr<session_registry> registry,
             std::shared_ptr<tls_context_store> tls);

    /// Opens, binds and listens; throws std::system_error naming the address.
    void open();

    /// Takes over `fd`, a TCP socket that is already bound and listening (socket activation),
    /// instead of open(); throws std::system_error naming the descriptor.
    void adopt(int fd);

    /// Starts the accept loop.
    void start();

    /// Closes the acceptor and asks every session to finish.
    void stop();

    boost::asio::ip::tcp::endpoint local_endpoint() const;

private:
    void do_accept();
    void on_accept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);

    // Returns the answer for a connection past a limit, or nothing when it may be served.
    std::optional<http_answer> check_limits(const boost::asio::ip::tcp::socket& socket);

    boost::asio::io_context& io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer retry_timer_;
    const server_config& config_;
    const listen_address where_;
    callback_handler& handler_;
    std::shared_ptr<session_registry> registry_;
    std::shared_ptr<tls_context_store> tls_;
    error_reporter overload_errors_{"listener"};
    error_reporter per_client_warnings_{"listener", std::chrono::seconds(1), report_level::warn};
    std::atomic<bool> stopped_{false};
};

}  // namespace seshook
