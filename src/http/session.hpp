#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "http/request_framing.hpp"
#include "http/session_stream.hpp"
#include "seshook/config/config.hpp"
#include "seshook/http/callback_handler.hpp"
#include "seshook/http/tls_context.hpp"

namespace seshook {

class session;

/// The live sessions of a server, so that a graceful stop can reach each of them, counted by
/// peer address too for the per-client connection cap.
class session_registry {
public:
    void add(std::uint64_t id, const std::string& peer, const std::shared_ptr<session>& s);
    void remove(std::uint64_t id);

    /// Asks every live session to finish its current request and close.
    void shut_down_all();

    std::size_t size() const;

    /// Returns the number of live sessions whose peer address is `peer`.
    std::size_t count_from(const std::string& peer) const;

private:
    struct entry {
        std::weak_ptr<session> weak;
        std::string peer;
    };

    mutable std::mutex mutex_;
    std::unordered_map<std::uint64_t, entry> sessions_;
    std::unordered_map<std::string, std::size_t> per_peer_;
};

/// One client connection: reads requests one after the other (keep-alive, pipelining), hands
/// each to the callback handler and writes its answer. All its work runs on its own strand.
/// Over TLS it first completes the handshake, and closes with a TLS shutdown.
class session : public std::enable_shared_from_this<session> {
public:
    /// `refusal`: a connection limit is reached; the session only writes it and closes (over
    /// TLS, closes at once).
    /// `tls`: the connection speaks TLS with the store's current context; null for plain HTTP.
    session(boost::asio::ip::tcp::socket socket, const server_config& config,
            callback_handler& handler, std::shared_ptr<session_registry> registry,
            std::optional<http_answer> refusal, std::shared_ptr<tls_context_store> tls);
    ~session();

    /// Starts serving the connection.
    void start();

    /// Finishes the request in progress, if any, then closes; closes at once when idle.
    void shut_down();

private:
    enum class phase { waiting, reading, answering, closed };

    void do_drop_refused();
    void do_handshake();
    void on_handshake(boost::beast::error_code ec);
    void do_serve();
    void do_wait_for_request();
    void on_first_bytes(boost::beast::error_code ec, std::size_t bytes);
    void do_read_header();
    void do_read_head_bytes();
    void on_head_bytes(boost::beast::error_code ec, std::size_t bytes);
    void on_read_header(boost::beast::error_code ec, std::size_t bytes);
    void do_read_body();
    void on_read_body(boost::beast::error_code ec, std::size_t bytes);
    void on_read_failed(boost::beast::error_code ec);
    void do_refuse(const request_refusal& refusal);
    std::optional<http_answer> screen_head();
    void refuse_request(unsigned status, std::string_view code, std::string_view detail,
                        std::string_view body, std::string_view content_encoding = {});
    void do_write(http_answer answer);
    void on_write(bool close, boost::beast::error_code ec, std::size_t bytes);
    void do_close();
    void on_tls_shutdown(boost::beast::error_code ec);
    void close_socket();
    std::string_view unparsed_bytes() const;

    std::shared_ptr<tls_context_store> tls_;
    session_stream stream_;
    boost::beast::flat_buffer buffer_;
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
    head_scanner head_scanner_;
    chunk_extension_guard chunk_guard_;
    std::size_t head_fields_ = 0;
    std::chrono::steady_clock::time_point request_started_;
    boost::beast::http::response<boost::beast::http::string_body> response_;
    const server_config& config_;
    callback_handler& handler_;
    std::shared_ptr<session_registry> registry_;
    std::uint64_t id_;
    std::string peer_;
    phase phase_ = phase::waiting;
    std::optional<http_answer> refusal_;
    std::string forwarded_for_;   // every X-Forwarded-For line of the request, joined
    bool head_screened_ = false;  // the handler admitted this request's head
    bool shutting_down_ = false;
    bool answering_head_ = false;
    bool tls_established_ = false;  // the handshake completed, so a TLS shutdown is due
    std::uint64_t served_requests_ = 0;
};

}  // namespace seshook
