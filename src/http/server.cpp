#include "seshook/http/server.hpp"

#include "http/listener.hpp"

namespace seshook {

namespace {

boost::asio::ip::tcp::endpoint endpoint_of(const std::shared_ptr<listener>& l) {
    return l ? l->local_endpoint() : boost::asio::ip::tcp::endpoint{};
}

// Binds the listener's own address, unless the service manager passed a socket for it.
void open_or_adopt(listener& l, int passed_fd) {
    if (passed_fd >= 0) {
        l.adopt(passed_fd);
    } else {
        l.open();
    }
}

}  // namespace

server::server(boost::asio::io_context& io, const server_config& config, callback_handler& handler,
               std::shared_ptr<tls_context_store> tls)
    : io_(io),
      config_(config),
      handler_(handler),
      tls_(std::move(tls)),
      registry_(std::make_shared<session_registry>()) {}

server::~server() = default;

void server::start(passed_listeners passed) {
    // Bind every listener before either accepts, so that a failure leaves nothing half started.
    // NOTE: both share one registry, so that max_connections counts plain and TLS together.
    if (config_.listen_plain) {
        plain_listener_ = std::make_shared<listener>(
            io_, config_, listen_address{config_.listen_host, config_.listen_port}, handler_,
            registry_, nullptr);
        open_or_adopt(*plain_listener_, passed.plain);
    }
    if (tls_) {
        const auto& settings = tls_->settings();
        tls_listener_ = std::make_shared<listener>(
            io_, config_, listen_address{settings.listen_host, settings.listen_port}, handler_,
            registry_, tls_);
        open_or_adopt(*tls_listener_, passed.tls);
    }
    if (plain_listener_) plain_listener_->start();
    if (tls_listener_) tls_listener_->start();
}

boost::asio::ip::tcp::endpoint server::local_endpoint() const {
    return endpoint_of(plain_listener_);
}

boost::asio::ip::tcp::endpoint server::tls_endpoint() const { return endpoint_of(tls_listener_); }

void server::stop() {
    if (plain_listener_) plain_listener_->stop();
    if (tls_listener_) tls_listener_->stop();
}

std::size_t server::open_connections() const noexcept { return registry_->size(); }

}  // namespace seshook
