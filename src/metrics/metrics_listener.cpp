#include "seshook/metrics/metrics_listener.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <optional>
#include <system_error>
#include <utility>

namespace seshook {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

// A scrape is a GET of a few hundred bytes: anything much larger or slower is not one.
constexpr std::uint32_t max_head_bytes = 8192;
constexpr std::uint64_t max_body_bytes = 1024;  // read and ignored
constexpr auto first_request_timeout = std::chrono::seconds(10);
constexpr auto idle_timeout = std::chrono::seconds(30);

// Pauses accepting after a failed accept (out of descriptors), so that it does not spin.
constexpr auto accept_retry_pause = std::chrono::milliseconds(100);

/// One connection to the metrics listener: requests one after the other, each answered from
/// the status pages. Its operations run one at a time on its own strand.
class metrics_connection : public std::enable_shared_from_this<metrics_connection> {
public:
    metrics_connection(tcp::socket socket, const status_pages& pages,
                       std::shared_ptr<std::atomic<std::size_t>> open)
        : stream_(std::move(socket)), pages_(pages), open_(std::move(open)) {}

    ~metrics_connection() { open_->fetch_sub(1, std::memory_order_relaxed); }

    void start() { do_read(); }

private:
    void do_read() {
        // A fresh parser each request. Nothing here takes a body: a small one is read and
        // ignored (so that the request gets its 404 or 405), a larger one ends the connection.
        parser_.emplace();
        parser_->header_limit(max_head_bytes);
        parser_->body_limit(max_body_bytes);
        stream_.expires_after(served_ == 0 ? first_request_timeout : idle_timeout);
        http::async_read(
            stream_, buffer_, *parser_,
            beast::bind_front_handler(&metrics_connection::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        // Closed, idle, too slow, too large or malformed: end quietly, nothing was asked.
        if (ec) return do_close();

        // Answer from the pages; every other path is unknown here.
        const auto& request = parser_->get();
        const std::string_view target = request.target();
        const auto page = pages_.answer(target.substr(0, target.find('?')), request.method());
        ++served_;
        keep_alive_ = request.keep_alive();
        response_ = {};
        response_.version(11);
        response_.set(http::field::server, "seshook");
        if (page) {
            response_.result(page->status);
            response_.set(http::field::content_type, page->content_type);
            if (!page->allow.empty()) response_.set(http::field::allow, page->allow);
            response_.body() = page->body;
        } else {
            response_.result(http::status::not_found);
            response_.set(http::field::content_type, "application/json");
            response_.body() = R"({"error":"not_found","detail":"no such path"})";
        }
        response_.keep_alive(keep_alive_);
        response_.prepare_payload();
        if (request.method() == http::verb::head) response_.body().clear();

        // Send it under a deadline of its own, so that a client that stops reading is cut off.
        stream_.expires_after(first_request_timeout);
        http::async_write(
            stream_, response_,
            beast::bind_front_handler(&metrics_connection::on_write, shared_from_this()));
    }

    void on_write(beast::error_code ec, std::size_t) {
        if (ec || !keep_alive_) return do_close();
        do_read();
    }

    void do_close() {
        // Half-close so that the client reads the answer; the socket closes with this object.
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_{max_head_bytes};
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> response_;
    const status_pages& pages_;
    std::shared_ptr<std::atomic<std::size_t>> open_;
    std::size_t served_ = 0;
    bool keep_alive_ = false;
};

}  // namespace

/// The acceptor and what its connections share; kept alive by its pending accept.
struct metrics_listener::acceptor_state : std::enable_shared_from_this<acceptor_state> {
    acceptor_state(net::io_context& io_context, const status_pages& status, std::string address,
                   std::uint16_t bound_port)
        : io(io_context),
          pages(status),
          host(std::move(address)),
          port(bound_port),
          acceptor(net::make_strand(io_context)),
          retry_timer(acceptor.get_executor()) {}

    void do_accept() {
        acceptor.async_accept(
            net::make_strand(io),
            beast::bind_front_handler(&acceptor_state::on_accept, shared_from_this()));
    }

    void on_accept(beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || stopped) return;
        if (ec) {
            spdlog::debug("[metrics] accept failed: {}", ec.message());
            retry_timer.expires_after(accept_retry_pause);
            retry_timer.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
                if (!wait_ec && !self->stopped) self->do_accept();
            });
            return;
        }

        // Past the limit, the connection is closed unanswered; a scraper retries.
        if (open->fetch_add(1, std::memory_order_relaxed) >= max_connections) {
            open->fetch_sub(1, std::memory_order_relaxed);
            spdlog::debug("[metrics] {} connections open, one more closed", max_connections);
        } else {
            std::make_shared<metrics_connection>(std::move(socket), pages, open)->start();
        }
        do_accept();
    }

    net::io_context& io;
    const status_pages& pages;
    std::string host;
    std::uint16_t port;
    tcp::acceptor acceptor;
    net::steady_timer retry_timer;
    std::shared_ptr<std::atomic<std::size_t>> open = std::make_shared<std::atomic<std::size_t>>(0);
    std::atomic<bool> stopped{false};
};

metrics_listener::metrics_listener(net::io_context& io, const status_pages& pages, std::string host,
                                   std::uint16_t port)
    : state_(std::make_shared<acceptor_state>(io, pages, std::move(host), port)) {}

metrics_listener::~metrics_listener() { stop(); }

void metrics_listener::start() {
    // Only a numeric address, as for the callback listeners; any failure names it.
    beast::error_code ec;
    const auto address = net::ip::make_address(state_->host, ec);
    const std::string where = state_->host + ":" + std::to_string(state_->port);
    if (ec) throw std::system_error(ec, "listen address " + where);
    const tcp::endpoint endpoint(address, state_->port);
    auto& acceptor = state_->acceptor;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) throw std::system_error(ec, "cannot listen on " + where);
    state_->do_accept();
}

tcp::endpoint metrics_listener::local_endpoint() const {
    beast::error_code ec;
    const auto endpoint = state_->acceptor.local_endpoint(ec);
    return ec ? tcp::endpoint{} : endpoint;
}

void metrics_listener::stop() {
    // NOTE: closing runs on the acceptor's strand, where its accept runs.
    if (state_->stopped.exchange(true)) return;
    net::dispatch(state_->acceptor.get_executor(), [state = state_] {
        beast::error_code ignored;
        state->acceptor.close(ignored);
        state->retry_timer.cancel();
    });
}

}  // namespace seshook
