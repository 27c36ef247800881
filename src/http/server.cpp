#include "seshook/http/server.hpp"

#include "http/listener.hpp"

namespace seshook {

server::server(boost::asio::io_context& io, const server_config& config, callback_handler& handler)
    : io_(io), config_(config), handler_(handler) {}

server::~server() = default;

void server::start() {
    listener_ = std::make_shared<listener>(io_, config_, handler_);
    listener_->open();
    listener_->start();
}

boost::asio::ip::tcp::endpoint server::local_endpoint() const {
    return listener_ ? listener_->local_endpoint() : boost::asio::ip::tcp::endpoint{};
}

void server::stop() {
    if (listener_) listener_->stop();
}

std::size_t server::open_connections() const noexcept {
    return listener_ ? listener_->open_connections() : 0;
}

}  // namespace seshook
