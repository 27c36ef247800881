#include "http/listener.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/asio/strand.hpp>
#include <cerrno>
#include <chrono>
#include <string>
#include <system_error>

#include "seshook/support/error_reporter.hpp"

namespace seshook {

namespace net = boost::asio;
namespace beast = boost::beast;
using net::ip::tcp;

namespace {

constexpr auto accept_retry_pause = std::chrono::milliseconds(50);

}  // namespace

listener::listener(net::io_context& io, const server_config& config, listen_address where,
                   callback_handler& handler, std::shared_ptr<session_registry> registry,
                   std::shared_ptr<tls_context_store> tls)
    : io_(io),
      acceptor_(net::make_strand(io)),
      retry_timer_(acceptor_.get_executor()),
      config_(config),
      where_(std::move(where)),
      handler_(handler),
      registry_(std::move(registry)),
      tls_(std::move(tls)) {}

void listener::open() {
    // Resolve the configured address; only numeric addresses are taken, no DNS at start.
    beast::error_code ec;
    const auto address = net::ip::make_address(where_.host, ec);
    const std::string where = where_.host + ":" + std::to_string(where_.port);
    if (ec) throw std::system_error(ec, "listen address " + where);
    const tcp::endpoint endpoint(address, where_.port);

    // Open, bind and listen, naming the address in any failure.
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) throw std::system_error(ec, "cannot listen on " + where);
}

void listener::adopt(int fd) {
    // Learn the socket's address family, which the acceptor must be told, then own it.
    const std::string what = "passed socket " + std::to_string(fd);
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        throw std::system_error(errno, std::generic_category(), what);
    }
    beast::error_code ec;
    acceptor_.assign(address.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
    if (ec) throw std::system_error(ec, "cannot take over " + what);
}

void listener::start() { do_accept(); }

void listener::stop() {
    // Close the acceptor on its strand; then let every session finish.
    stopped_ = true;
    net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] {
        beast::error_code ignored;
        self->acceptor_.close(ignored);
        self->retry_timer_.cancel();
    });
    registry_->shut_down_all();
}

tcp::endpoint listener::local_endpoint() const {
    beast::error_code ec;
    return acceptor_.local_endpoint(ec);
}

void listener::do_accept() {
    // Each connection gets its own strand, so its handlers never run concurrently.
    acceptor_.async_accept(net::make_strand(io_),
                           beast::bind_front_handler(&listener::on_accept, shared_from_this()));
}

void listener::on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || stopped_) return;
    if (ec) {
        // Running out of descriptors must not end the accept loop, nor spin it: it is
        // reported and retried after a pause that lets connections close.
        static error_reporter accept_errors("listener");
        accept_errors.report("accept failed: " + ec.message());
        retry_timer_.expires_after(accept_retry_pause);
        retry_timer_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
            if (!wait_ec && !self->stopped_) self->do_accept();
        });
        return;
    }

    // Past a connection limit, the client is told so and the connection closed.
    auto refusal = check_limits(socket);
    std::make_shared<session>(std::move(socket), config_, handler_, registry_, std::move(refusal),
                              tls_)
        ->start();
    do_accept();
}

std::optional<http_answer> listener::check_limits(const tcp::socket& socket) {
    // NOTE: runs on the acceptor's strand, and a session joins the registry before the next
    // accept, so this listener cannot pass a limit between the check and the add. Listeners
    // that share the registry (plain and TLS) check on their own strands: together they may
    // pass a limit by one connection for each listener beyond the first, no more.
    const auto refuse = [](std::string_view detail, std::chrono::seconds retry_after) {
        http_answer answer{503,
                           R"({"error":"overloaded","detail":")" + std::string(detail) + "\"}",
                           {},
                           answer_reason::overloaded};
        answer.retry_after = retry_after;
        answer.close = true;
        return answer;
    };

    // The total.
    if (registry_->size() >= config_.max_connections) {
        overload_errors_.report("connection limit reached (" +
                                std::to_string(config_.max_connections) + "), answering 503");
        return refuse("too many connections", std::chrono::seconds(0));
    }

    // Each client's share, by the TCP peer's address.
    if (config_.max_connections_per_client == 0) return std::nullopt;
    beast::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    if (ec) return std::nullopt;
    const std::string peer = remote.address().to_string();
    if (registry_->count_from(peer) < config_.max_connections_per_client) return std::nullopt;
    per_client_warnings_.report("too many connections from " + peer + " (" +
                                std::to_string(config_.max_connections_per_client) +
                                ", max_connections_per_client), answering 503");
    return refuse("too many connections from your address", std::chrono::seconds(1));
}

}  // namespace seshook
