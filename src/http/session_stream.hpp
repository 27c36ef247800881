#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <utility>
#include <variant>

namespace seshook {

/// The byte stream of one connection: plain TCP, or TLS over TCP. It is an Asio
/// AsyncReadStream and AsyncWriteStream, so Beast reads and writes HTTP over it unchanged; the
/// deadline, the socket and cancellation are those of the TCP stream beneath.
class session_stream {
public:
    using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
    using executor_type = boost::beast::tcp_stream::executor_type;

    /// Wraps a plain connection.
    explicit session_stream(boost::asio::ip::tcp::socket socket)
        : stream_(std::in_place_type<boost::beast::tcp_stream>, std::move(socket)) {}

    /// Wraps a connection that speaks TLS with `context`, which the connection keeps for its
    /// whole life, even after a reload handed new connections another one.
    session_stream(boost::asio::ip::tcp::socket socket,
                   std::shared_ptr<boost::asio::ssl::context> context)
        : context_(std::move(context)),
          stream_(std::in_place_type<tls_stream>, std::move(socket), *context_) {}

    /// Returns true for a TLS connection.
    bool is_tls() const noexcept { return std::holds_alternative<tls_stream>(stream_); }

    executor_type get_executor() noexcept { return tcp().get_executor(); }
    boost::asio::ip::tcp::socket& socket() noexcept { return tcp().socket(); }

    /// Sets the deadline of every operation until it is set again.
    void expires_after(std::chrono::steady_clock::duration after) { tcp().expires_after(after); }
    void expires_at(std::chrono::steady_clock::time_point at) { tcp().expires_at(at); }
    void expires_never() { tcp().expires_never(); }

    /// Cancels the pending operations; they complete with operation_aborted.
    void cancel() { tcp().cancel(); }

    template <class MutableBufferSequence, class ReadToken>
    auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
        return boost::asio::async_initiate<ReadToken, void(boost::beast::error_code, std::size_t)>(
            [this](auto handler, const MutableBufferSequence& b) {
                std::visit([&](auto& s) { s.async_read_some(b, std::move(handler)); }, stream_);
            },
            token, buffers);
    }

    template <class ConstBufferSequence, class WriteToken>
    auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
        return boost::asio::async_initiate<WriteToken, void(boost::beast::error_code, std::size_t)>(
            [this](auto handler, const ConstBufferSequence& b) {
                std::visit([&](auto& s) { s.async_write_some(b, std::move(handler)); }, stream_);
            },
            token, buffers);
    }

    /// Runs the server side of the TLS handshake; TLS connections only.
    template <class HandshakeToken>
    auto async_handshake(HandshakeToken&& token) {
        return std::get<tls_stream>(stream_).async_handshake(boost::asio::ssl::stream_base::server,
                                                             std::forward<HandshakeToken>(token));
    }

    /// Sends the TLS close_notify and waits for the peer's; TLS connections only.
    template <class ShutdownToken>
    auto async_shutdown(ShutdownToken&& token) {
        return std::get<tls_stream>(stream_).async_shutdown(std::forward<ShutdownToken>(token));
    }

private:
    boost::beast::tcp_stream& tcp() noexcept {
        return std::visit(
            [](auto& s) -> boost::beast::tcp_stream& { return boost::beast::get_lowest_layer(s); },
            stream_);
    }

    // NOTE: declared before the stream, so that it is destroyed after the stream that uses it.
    std::shared_ptr<boost::asio::ssl::context> context_;
    std::variant<boost::beast::tcp_stream, tls_stream> stream_;
};

}  // namespace seshook
