#include "http/session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/range/iterator_range.hpp>
#include <utility>

#include "http/body_decoding.hpp"
#include "seshook/http/access_log.hpp"

namespace seshook {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

std::atomic<std::uint64_t> next_session_id{1};

constexpr std::size_t first_read_size = 4096;

// NOTE: the read buffer is capped at the head limit plus this slack. A request head must fit in
// it whole, and so must a chunked body's trailer, which Beast does not count against any
// limit: without the cap, a trailer could grow the buffer until memory runs out.
constexpr std::size_t buffer_slack = 8192;

// The answer is written by the time a TLS connection closes; waiting longer than this for the
// client's close_notify would only hold a connection slot.
constexpr auto tls_shutdown_timeout = std::chrono::seconds(2);

bool is_http_error(const beast::error_code& ec) {
    return ec.category() == http::make_error_code(http::error::bad_method).category();
}

// Describes a request's head (and body, when read) for the handler. Repeated X-Forwarded-For
// lines are joined: a proxy may add its own line instead of extending the first, and reading
// only the first would let a client choose the address that seshook believes.
http_request_info describe(const http::request<http::string_body>& request, std::string_view peer,
                           std::string& forwarded_for) {
    forwarded_for.clear();
    for (const auto& line : boost::make_iterator_range(request.equal_range("X-Forwarded-For"))) {
        if (!forwarded_for.empty()) forwarded_for += ", ";
        forwarded_for.append(line.value().data(), line.value().size());
    }
    http_request_info info;
    info.method = request.method();
    info.target = request.target();
    info.body = request.body();
    info.peer = peer;
    info.authorization = request[http::field::authorization];
    info.forwarded_for = forwarded_for;
    info.real_ip = request["X-Real-IP"];
    return info;
}

}  // namespace

void session_registry::add(std::uint64_t id, const std::string& peer,
                           const std::shared_ptr<session>& s) {
    std::lock_guard lock(mutex_);
    sessions_.emplace(id, entry{s, peer});
    ++per_peer_[peer];
}

void session_registry::remove(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    const auto found = sessions_.find(id);
    if (found == sessions_.end()) return;
    const auto count = per_peer_.find(found->second.peer);
    if (count != per_peer_.end() && --count->second == 0) per_peer_.erase(count);
    sessions_.erase(found);
}

void session_registry::shut_down_all() {
    // Collect the live ones first so that no session runs under the registry's lock.
    std::vector<std::shared_ptr<session>> live;
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, e] : sessions_) {
            if (auto s = e.weak.lock()) live.push_back(std::move(s));
        }
    }
    for (auto& s : live) s->shut_down();
}

std::size_t session_registry::size() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

std::size_t session_registry::count_from(const std::string& peer) const {
    std::lock_guard lock(mutex_);
    const auto found = per_peer_.find(peer);
    return found == per_peer_.end() ? 0 : found->second;
}

session::session(net::ip::tcp::socket socket, const server_config& config,
                 callback_handler& handler, std::shared_ptr<session_registry> registry,
                 std::optional<http_answer> refusal, std::shared_ptr<tls_context_store> tls)
    : tls_(std::move(tls)),
      stream_(tls_ ? session_stream(std::move(socket), tls_->current())
                   : session_stream(std::move(socket))),
      buffer_(config.max_header_bytes + buffer_slack),
      config_(config),
      handler_(handler),
      registry_(std::move(registry)),
      id_(next_session_id.fetch_add(1, std::memory_order_relaxed)),
      refusal_(std::move(refusal)) {
    beast::error_code ec;
    const auto remote = stream_.socket().remote_endpoint(ec);
    peer_ = ec ? "unknown" : remote.address().to_string();
}

session::~session() { registry_->remove(id_); }

void session::start() {
    registry_->add(id_, peer_, shared_from_this());
    request_started_ = std::chrono::steady_clock::now();
    SPDLOG_TRACE("[session:{}] connected from {}", id_, peer_);

    // Run on the connection's strand from here on; over TLS, the handshake comes first.
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
        if (self->tls_ && self->refusal_) return self->do_drop_refused();
        if (self->tls_) return self->do_handshake();
        self->do_serve();
    });
}

void session::shut_down() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
        self->shutting_down_ = true;

        // An idle connection closes now; one mid-request closes after its answer.
        if (self->phase_ == phase::waiting) self->stream_.cancel();
    });
}

void session::do_drop_refused() {
    // NOTE: a 503 over TLS would need a handshake first, which the client may stall until the
    // header timeout: each refused connection would hold its slot, and one client past its cap
    // could still take them all. So past a limit, a TLS connection is closed at once.
    SPDLOG_TRACE("[session:{}] tls connection past a limit closed unanswered", id_);
    phase_ = phase::closed;
    close_socket();
}

void session::do_handshake() {
    // The handshake counts towards the first request's head, so that a client that connects and
    // never completes it is cut off like one that never sends its request.
    // NOTE: it runs in the waiting phase, so that a graceful stop cancels it at once.
    stream_.expires_at(request_started_ + config_.header_timeout);
    stream_.async_handshake(beast::bind_front_handler(&session::on_handshake, shared_from_this()));
}

void session::on_handshake(beast::error_code ec) {
    if (ec == net::error::operation_aborted) return do_close();

    // Scanners, plain HTTP sent to the TLS port, clients with no version or cipher in common and
    // silent ones cut off end here all day long: counted and logged at debug, not warned about.
    if (ec) {
        tls_->count_failed_handshake();
        spdlog::debug("[session:{}] tls handshake with {} failed: {}", id_, peer_, ec.message());
        return do_close();
    }
    tls_established_ = true;
    SPDLOG_TRACE("[session:{}] tls established", id_);
    do_serve();
}

void session::do_serve() {
    // Past a connection limit, the only answer is the listener's refusal.
    if (refusal_) return do_write(std::move(*refusal_));
    do_wait_for_request();
}

void session::do_wait_for_request() {
    // Pipelined bytes already buffered start the next request at once.
    if (buffer_.size() > 0) return do_read_header();
    if (shutting_down_) return do_close();

    // Wait for the first bytes of the next request. A new connection must send its head within
    // the header timeout, so that silent connections cannot hoard the connection slots; a
    // kept-alive one may stay quiet for the idle timeout.
    phase_ = phase::waiting;
    if (served_requests_ == 0) {
        stream_.expires_at(request_started_ + config_.header_timeout);
    } else {
        stream_.expires_after(config_.idle_timeout);
    }
    stream_.async_read_some(
        buffer_.prepare(first_read_size),
        beast::bind_front_handler(&session::on_first_bytes, shared_from_this()));
}

void session::on_first_bytes(beast::error_code ec, std::size_t bytes) {
    buffer_.commit(bytes);

    // The client went away, stayed idle too long, or we are shutting down: all end quietly.
    if (ec == net::error::eof || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        ec == net::ssl::error::stream_truncated) {
        SPDLOG_TRACE("[session:{}] closing idle connection: {}", id_, ec.message());
        return do_close();
    }
    if (ec) {
        spdlog::debug("[session:{}] read failed: {}", id_, ec.message());
        return do_close();
    }
    do_read_header();
}

void session::do_read_header() {
    // Fresh parser for every request, with the configured limits; chunk extensions are refused.
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(config_.max_header_bytes));
    // NOTE: the body limit is set once the head is judged (see on_read_header): Beast checks a
    // Content-Length against it while the head is still being parsed, which would answer a
    // stranger 413 before its secret was looked at, and leave the fields after it unread.
    parser_->body_limit(boost::none);
    parser_->on_chunk_header(chunk_guard_);
    head_scanner_.reset();
    head_screened_ = false;
    access_method_.clear();
    access_target_.clear();
    access_body_bytes_ = 0;

    // The head must be whole within the header timeout, the request within the request timeout,
    // both from its start, so a trickling client is cut off. A new connection's first request
    // starts when it was accepted, a later one with its first byte.
    if (served_requests_ > 0) request_started_ = std::chrono::steady_clock::now();
    phase_ = phase::reading;
    stream_.expires_at(request_started_ + config_.header_timeout);
    do_read_head_bytes();
}

void session::do_read_head_bytes() {
    // Beast parses the head once it is all here and its lines passed the scanner.
    // NOTE: the scanner looks at the first max_header_bytes only, so that a head is whole within
    // them or refused with 431, however much of it one read brought: Beast alone holds the
    // request line and the fields to its limit apart, and would let a head of nearly twice the
    // limit through when the line comes first.
    const std::string_view buffered = unparsed_bytes().substr(0, config_.max_header_bytes);
    switch (head_scanner_.scan(buffered)) {
        case head_scanner::state::complete:
            return http::async_read_header(
                stream_, buffer_, *parser_,
                beast::bind_front_handler(&session::on_read_header, shared_from_this()));
        case head_scanner::state::refused:
            return do_refuse({400, "malformed_request", head_scanner_.reason()});
        case head_scanner::state::incomplete:
            break;
    }
    if (buffer_.size() >= config_.max_header_bytes)
        return on_read_failed(http::error::header_limit);

    // Read more of it.
    stream_.async_read_some(buffer_.prepare(first_read_size),
                            beast::bind_front_handler(&session::on_head_bytes, shared_from_this()));
}

void session::on_head_bytes(beast::error_code ec, std::size_t bytes) {
    buffer_.commit(bytes);
    if (ec) return on_read_failed(ec);
    do_read_head_bytes();
}

void session::on_read_header(beast::error_code ec, std::size_t) {
    if (ec) return on_read_failed(ec);
    note_request_head();

    // Framing that another parser could read differently, or too many fields, is refused before
    // any of the body is read.
    const auto& request = parser_->get();
    if (auto refusal = check_request_head(request, config_.max_header_fields)) {
        return do_refuse(*refusal);
    }
    head_fields_ = field_count(request);

    // A client that may not post, or that names no callback with a valid secret, is answered
    // by its head alone: none of its body is read or kept. A body left unread cannot be
    // skipped safely, so then the connection closes; a request without one may be followed.
    if (auto refusal = screen_head()) {
        phase_ = phase::answering;
        ++served_requests_;
        answering_head_ = request.method() == http::verb::head;
        if (!parser_->is_done() || !request.keep_alive()) refusal->close = true;
        return do_write(std::move(*refusal));
    }

    // An announced body over the limit is refused before any of it is read; a chunked one is
    // held to the same limit as it arrives.
    if (const auto length = parser_->content_length(); length && *length > config_.max_body_bytes) {
        return refuse_request(
            413, "body_too_large",
            "body exceeds max_body_bytes (" + std::to_string(config_.max_body_bytes) + ")", "");
    }
    parser_->body_limit(config_.max_body_bytes);

    // The body has what is left of the request's deadline.
    stream_.expires_at(request_started_ + config_.request_timeout);

    // A client that asked before sending its body gets the go-ahead; the size was checked
    // against the body limit when the head was parsed.
    const bool wants_continue =
        beast::iequals(request[http::field::expect], "100-continue") && !parser_->is_done();
    if (!wants_continue) return do_read_body();

    static constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(continue_line.data(), continue_line.size()),
                     [self = shared_from_this()](beast::error_code write_ec, std::size_t) {
                         if (write_ec) return self->do_close();
                         self->do_read_body();
                     });
}

void session::do_read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&session::on_read_body, shared_from_this()));
}

void session::on_read_body(beast::error_code ec, std::size_t) {
    if (ec) return on_read_failed(ec);

    // Trailer fields could pass for head fields that were never checked.
    if (auto refusal = check_request_trailer(parser_->get(), head_fields_)) {
        return do_refuse(*refusal);
    }

    // Answer the complete request.
    phase_ = phase::answering;
    ++served_requests_;
    auto request = parser_->release();
    parser_.reset();
    access_body_bytes_ = request.body().size();
    SPDLOG_TRACE("[session:{}] {} request of {} bytes", id_, std::string(request.method_string()),
                 request.body().size());
    answering_head_ = request.method() == http::verb::head;
    const bool keep_alive = request.keep_alive();

    // Decode the body as its Content-Encoding says; one that cannot be decoded is refused and
    // kept as it came.
    const std::string encoding = content_encoding_of(request);
    if (auto failure = decode_body(encoding, request.body(), config_.max_body_bytes)) {
        return refuse_request(http_status(failure->error), to_string(failure->error),
                              failure->detail, request.body(), encoding);
    }

    // The answer may come later, from the spool's thread once the events are committed; it is
    // written on this connection's strand.
    http_request_info info = describe(request, peer_, forwarded_for_);
    info.screened = head_screened_;
    handler_.handle(info, [self = shared_from_this(), keep_alive](http_answer answer) {
        // HTTP/1.0 without keep-alive and `Connection: close` end the connection
        // after it.
        if (!keep_alive) answer.close = true;
        net::dispatch(self->stream_.get_executor(), [self, answer = std::move(answer)]() mutable {
            self->do_write(std::move(answer));
        });
    });
}

void session::on_read_failed(beast::error_code ec) {
    // Harmless endings first: shutdown, or the peer closing mid-request (it got no answer, so
    // Tencent retries it).
    if (ec == net::error::operation_aborted) return do_close();
    if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
        ec == net::error::eof || ec == net::error::connection_reset ||
        ec == net::ssl::error::stream_truncated) {
        spdlog::debug("[session:{}] peer {} closed the connection mid-request", id_, peer_);
        return do_close();
    }
    if (ec == beast::error::timeout) {
        if (!parser_->is_header_done()) {
            spdlog::warn(
                "[session:{}] request head from {} not complete within {} ms, connection cut", id_,
                peer_, config_.header_timeout.count());
        } else {
            spdlog::warn("[session:{}] request from {} not complete within {} ms, connection cut",
                         id_, peer_, config_.request_timeout.count());
        }
        return do_close();
    }

    // Requests that cannot be read whole get an answer saying why, then the connection closes:
    // after a framing error the next request's start cannot be found reliably.
    phase_ = phase::answering;
    if (ec == http::error::body_limit && starts_with_chunk_extension(unparsed_bytes())) {
        ec = http::error::bad_chunk_extension;
    }
    if (ec == http::error::body_limit) {
        return refuse_request(
            413, "body_too_large",
            "body exceeds max_body_bytes (" + std::to_string(config_.max_body_bytes) + ")",
            parser_->get().body());
    }
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
        return refuse_request(431, "header_too_large",
                              "request head or chunk trailer exceeds max_header_bytes (" +
                                  std::to_string(config_.max_header_bytes) + ")",
                              "");
    }
    if (is_http_error(ec)) {
        return refuse_request(400, "malformed_request", "malformed HTTP request: " + ec.message(),
                              parser_->get().body());
    }

    // Anything else is a network failure of this one connection.
    spdlog::debug("[session:{}] read failed: {}", id_, ec.message());
    do_close();
}

// The bytes read from the peer that the parser has not taken yet.
std::string_view session::unparsed_bytes() const {
    return {static_cast<const char*>(buffer_.data().data()), buffer_.size()};
}

void session::do_refuse(const request_refusal& refusal) {
    // What was read of the body is kept with the refusal; the connection closes after it, as
    // where the next request starts cannot be trusted.
    refuse_request(refusal.status, refusal.code, refusal.detail, parser_->get().body());
}

std::optional<http_answer> session::screen_head() {
    auto refusal = handler_.screen(describe(parser_->get(), peer_, forwarded_for_));
    head_screened_ = !refusal;
    return refusal;
}

void session::refuse_request(unsigned status, std::string_view code, std::string_view detail,
                             std::string_view body, std::string_view content_encoding) {
    phase_ = phase::answering;

    // A request whose head was read but not yet judged is judged first: a stranger's broken
    // request gets the answer any of its requests would get, and nothing of it is kept.
    if (!head_screened_ && parser_ && parser_->is_header_done()) {
        if (auto refusal = screen_head()) {
            refusal->close = true;
            return do_write(std::move(*refusal));
        }
    }

    // Otherwise it is kept in the rejects file with the reason, and the connection closes.
    do_write(handler_.refuse_unreadable(status, code, detail, peer_, body, content_encoding,
                                        head_screened_));
}

void session::note_request_head() {
    if (!access_log_on()) return;
    const auto& request = parser_->get();
    access_method_ = std::string(request.method_string());
    access_target_ = handler_.masked_target(request.target());
}

void session::log_access(const http_answer& answer) const {
    if (!access_log_on()) return;
    access_entry entry;
    entry.peer = peer_;
    entry.method = access_method_.empty() ? std::string_view("-") : access_method_;
    entry.target = access_target_.empty() ? std::string_view("-") : access_target_;
    entry.status = answer.status;
    entry.body_bytes = parser_ ? parser_->get().body().size() : access_body_bytes_;
    entry.duration = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - request_started_);
    const std::string outcome = outcome_of(answer);
    entry.outcome = outcome;
    seshook::log_access(entry);
}

void session::do_write(http_answer answer) {
    // Count the answer, and how long its request took; log it when the access log is on.
    if (auto* metrics = handler_.metrics()) {
        metrics->count_answer(answer.status, answer.reason,
                              std::chrono::steady_clock::now() - request_started_);
    }
    log_access(answer);

    // Build the response.
    response_ = {};
    response_.version(11);
    response_.result(answer.status);
    response_.set(http::field::server, "seshook");
    response_.set(http::field::content_type, answer.content_type);
    if (!answer.allow.empty()) response_.set(http::field::allow, answer.allow);
    if (answer.retry_after.count() > 0) {
        response_.set(http::field::retry_after, std::to_string(answer.retry_after.count()));
    }
    const bool close = answer.close || shutting_down_;
    response_.keep_alive(!close);
    response_.body() = std::move(answer.body);
    response_.prepare_payload();

    // A HEAD answer announces the length of the body it leaves out.
    if (answering_head_) {
        response_.body().clear();
        answering_head_ = false;
    }

    // Send it under the request deadline, so a client that stops reading is cut off too.
    phase_ = phase::answering;
    stream_.expires_after(config_.request_timeout);
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&session::on_write, shared_from_this(), close));
}

void session::on_write(bool close, beast::error_code ec, std::size_t) {
    if (ec) {
        spdlog::debug("[session:{}] write failed: {}", id_, ec.message());
        return do_close();
    }
    if (close || shutting_down_) return do_close();

    // Keep the connection for the next request.
    do_wait_for_request();
}

void session::do_close() {
    if (phase_ == phase::closed) return;
    phase_ = phase::closed;

    // Over TLS, close_notify goes first, so that the client can tell a whole answer from a cut
    // connection; the wait for the client's own is bounded.
    if (tls_established_) {
        stream_.expires_after(tls_shutdown_timeout);
        return stream_.async_shutdown(
            beast::bind_front_handler(&session::on_tls_shutdown, shared_from_this()));
    }
    close_socket();
}

void session::on_tls_shutdown(beast::error_code) {
    // Many clients close without a close_notify of their own; either way the connection ends.
    close_socket();
}

void session::close_socket() {
    // Half-close so the client reads the answer before the connection goes away.
    beast::error_code ignored;
    stream_.expires_never();
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
    SPDLOG_TRACE("[session:{}] closed", id_);
}

}  // namespace seshook
