#include "support/tiny_http_receiver.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace seshook::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](unsigned char x, unsigned char y) {
        return std::tolower(x) == std::tolower(y);
    });
}

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("tiny_http_receiver: " + what);
}

}  // namespace

std::string received_request::header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (iequals(key, name)) {
            return value;
        }
    }
    return {};
}

bool received_request::has_header(std::string_view name) const {
    return std::any_of(headers.begin(), headers.end(),
                       [&](const auto& header) { return iequals(header.first, name); });
}

namespace detail {

/// What the receiver thread shares with the test thread, and what its sessions reach.
struct receiver_core {
    explicit receiver_core(tiny_http_receiver::behaviour b) : respond(std::move(b)) {}

    /// Records a request and returns the reply the behaviour chooses for it.
    receiver_reply take(received_request request) {
        std::lock_guard lock(mutex);
        const auto index = requests.size();
        requests.push_back(std::move(request));
        auto reply = respond(requests.back(), index);
        arrived.notify_all();
        return reply;
    }

    std::size_t count_connection() {
        std::lock_guard lock(mutex);
        return ++connections;
    }

    mutable std::mutex mutex;
    mutable std::condition_variable arrived;
    tiny_http_receiver::behaviour respond;
    std::vector<received_request> requests;
    std::size_t connections = 0;
    std::vector<std::shared_ptr<void>> held;  // sessions that never answer; receiver thread only
};

/// One accepted connection, over a plain or a TLS stream.
template <class Stream>
class session : public std::enable_shared_from_this<session<Stream>> {
public:
    session(receiver_core& owner, Stream stream, std::size_t connection)
        : owner_(owner), stream_(std::move(stream)), connection_(connection) {}

    void start() {
        if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
            do_read();
        } else {
            stream_.async_handshake(ssl::stream_base::server,
                                    [self = this->shared_from_this()](const error_code& ec) {
                                        if (!ec) {
                                            self->do_read();
                                        }
                                    });
        }
    }

private:
    void do_read() {
        request_ = {};
        http::async_read(stream_, buffer_, request_,
                         [self = this->shared_from_this()](const error_code& ec, std::size_t) {
                             self->on_read(ec);
                         });
    }

    void on_read(const error_code& ec) {
        // The client closed, or sent something that is not HTTP: the session ends.
        if (ec) {
            return;
        }

        // Record the request and ask the behaviour what to do.
        received_request seen;
        seen.method = std::string(request_.method_string());
        seen.target = std::string(request_.target());
        for (const auto& field : request_) {
            seen.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
        }
        seen.body = request_.body();
        seen.connection = connection_;
        const auto reply = owner_.take(std::move(seen));

        // Silence: keep the connection open until the receiver stops.
        if (reply.never_answer) {
            owner_.held.push_back(this->shared_from_this());
            return;
        }

        // Close after answering when the behaviour or the client asks for it.
        close_after_ = reply.close || reply.drop_after || !request_.keep_alive();

        // Answer with the bytes the behaviour wrote itself, such as several responses at once.
        if (!reply.raw.empty()) {
            raw_ = reply.raw;
            asio::async_write(stream_, asio::buffer(raw_),
                              [self = this->shared_from_this()](const error_code& ec, std::size_t) {
                                  self->on_write(ec);
                              });
            return;
        }

        // Answer with the status and body.
        response_ = {};
        response_.version(11);
        response_.result(reply.status);
        response_.set(http::field::content_type, "application/json");
        response_.body() = reply.body;
        response_.keep_alive(!reply.close && request_.keep_alive());
        response_.prepare_payload();
        http::async_write(stream_, response_,
                          [self = this->shared_from_this()](const error_code& ec, std::size_t) {
                              self->on_write(ec);
                          });
    }

    void on_write(const error_code& ec) {
        if (ec) {
            return;
        }
        if (close_after_) {
            error_code ignored;
            beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
            beast::get_lowest_layer(stream_).socket().close(ignored);
            return;
        }
        do_read();
    }

    receiver_core& owner_;
    Stream stream_;
    std::size_t connection_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> request_;
    http::response<http::string_body> response_;
    std::string raw_;
    bool close_after_ = false;
};

}  // namespace detail

struct tiny_http_receiver::impl : detail::receiver_core {
    using receiver_core::receiver_core;

    void start(std::uint16_t wanted_port = 0);
    void do_accept();

    std::optional<ssl::context> tls_context;
    asio::io_context ioc{1};
    tcp::acceptor acceptor{ioc};
    std::uint16_t port = 0;
    std::thread thread;
};

void tiny_http_receiver::impl::start(std::uint16_t wanted_port) {
    const tcp::endpoint loopback(asio::ip::make_address("127.0.0.1"), wanted_port);
    acceptor.open(loopback.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));

    // A port given back a moment ago can still be held by a socket on its way out: try again.
    for (int attempt = 1;; ++attempt) {
        error_code ec;
        acceptor.bind(loopback, ec);
        if (!ec) break;
        if (wanted_port == 0 || ec != asio::error::address_in_use || attempt == 50) {
            fail("cannot bind 127.0.0.1:" + std::to_string(wanted_port) + ": " + ec.message());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    acceptor.listen();
    port = acceptor.local_endpoint().port();
    do_accept();
    thread = std::thread([this] { ioc.run(); });
}

void tiny_http_receiver::impl::do_accept() {
    acceptor.async_accept([this](const error_code& ec, tcp::socket socket) {
        if (ec) {
            return;
        }
        const auto connection = count_connection();
        using tls_stream = beast::ssl_stream<beast::tcp_stream>;
        if (tls_context) {
            std::make_shared<detail::session<tls_stream>>(
                *this, tls_stream(std::move(socket), *tls_context), connection)
                ->start();
        } else {
            std::make_shared<detail::session<beast::tcp_stream>>(
                *this, beast::tcp_stream(std::move(socket)), connection)
                ->start();
        }
        do_accept();
    });
}

tiny_http_receiver::tiny_http_receiver(behaviour respond)
    : impl_(std::make_unique<impl>(std::move(respond))) {
    impl_->start();
}

tiny_http_receiver::tiny_http_receiver(std::uint16_t port, behaviour respond)
    : impl_(std::make_unique<impl>(std::move(respond))) {
    impl_->start(port);
}

tiny_http_receiver::tiny_http_receiver(tls_identity identity, behaviour respond)
    : impl_(std::make_unique<impl>(std::move(respond))) {
    auto& context = impl_->tls_context.emplace(ssl::context::tls_server);
    context.use_certificate_chain(asio::buffer(identity.certificate_pem));
    context.use_private_key(asio::buffer(identity.private_key_pem), ssl::context::pem);
    impl_->start();
}

tiny_http_receiver::~tiny_http_receiver() { stop(); }

void tiny_http_receiver::stop() {
    // Stop the thread first; pending handlers, and the sessions they own, go with the context.
    impl_->ioc.stop();
    if (impl_->thread.joinable()) {
        impl_->thread.join();
    }
    impl_->held.clear();
}

tiny_http_receiver::behaviour tiny_http_receiver::answer_always(unsigned status) {
    return [status](const received_request&, std::size_t) {
        receiver_reply reply;
        reply.status = status;
        return reply;
    };
}

tiny_http_receiver::behaviour tiny_http_receiver::answer_in_turn(std::vector<unsigned> statuses) {
    if (statuses.empty()) {
        fail("answer_in_turn needs at least one status");
    }
    return [statuses = std::move(statuses)](const received_request&, std::size_t index) {
        receiver_reply reply;
        reply.status = statuses[std::min(index, statuses.size() - 1)];
        return reply;
    };
}

tiny_http_receiver::behaviour tiny_http_receiver::never_answer() {
    return [](const received_request&, std::size_t) {
        receiver_reply reply;
        reply.never_answer = true;
        return reply;
    };
}

void tiny_http_receiver::set_behaviour(behaviour respond) {
    std::lock_guard lock(impl_->mutex);
    impl_->respond = std::move(respond);
}

std::uint16_t tiny_http_receiver::port() const noexcept { return impl_->port; }

std::string tiny_http_receiver::url(std::string_view target) const {
    return std::string(impl_->tls_context ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(impl_->port) + std::string(target);
}

std::vector<received_request> tiny_http_receiver::requests() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->requests;
}

std::size_t tiny_http_receiver::request_count() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->requests.size();
}

std::size_t tiny_http_receiver::connection_count() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->connections;
}

bool tiny_http_receiver::wait_for_requests(std::size_t count,
                                           std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    return impl_->arrived.wait_for(lock, timeout, [&] { return impl_->requests.size() >= count; });
}

}  // namespace seshook::testing
