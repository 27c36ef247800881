#include "seshook/daemon/service_notifier.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <boost/asio/post.hpp>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace seshook {

namespace net = boost::asio;

namespace {

// Turns line breaks into spaces, so that a status text cannot add a line of its own.
std::string one_line(std::string text) {
    for (char& c : text) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    return text;
}

}  // namespace

service_notifier::service_notifier(net::io_context& io, status_fn status,
                                   std::chrono::milliseconds status_interval)
    : strand_(net::make_strand(io)),
      status_timer_(strand_),
      watchdog_timer_(strand_),
      status_(std::move(status)),
      status_interval_(status_interval) {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    enabled_ = socket != nullptr && *socket != 0;
    if (!enabled_) return;

    // NOTE: sd_watchdog_enabled() also checks WATCHDOG_PID, so a keep-alive meant for a parent
    // is not sent by a child that inherited the variables.
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        watchdog_interval_ = std::chrono::microseconds(usec / 2);
    }
}

void service_notifier::ready() {
    if (!enabled_) return;

    // Announce readiness with the first status, in one message.
    last_status_ = one_line(status_());
    send("READY=1\nSTATUS=" + last_status_);
    spdlog::info(
        "[systemd] told systemd the service is ready{}",
        watchdog_interval_.count() > 0
            ? fmt::format(
                  ", keep-alive every {} ms",
                  std::chrono::duration_cast<std::chrono::milliseconds>(watchdog_interval_).count())
            : std::string());

    // Then keep it informed, on the strand, from the I/O loop.
    net::post(strand_, [this] {
        do_status_wait();
        if (watchdog_interval_.count() > 0) do_watchdog_wait();
    });
}

void service_notifier::stopping(std::string why) {
    if (!enabled_) return;

    // Sent at once, from this thread: the loop may end before a posted handler would run.
    stopping_ = true;
    send("STOPPING=1\nSTATUS=" + one_line(std::move(why)));
    net::post(strand_, [this] { status_timer_.cancel(); });
}

void service_notifier::do_status_wait() {
    status_timer_.expires_after(status_interval_);
    status_timer_.async_wait([this](boost::system::error_code ec) { on_status_wait(ec); });
}

void service_notifier::on_status_wait(boost::system::error_code ec) {
    if (ec || stopping_) return;

    // Send the status only when it changed: systemd keeps the last one.
    std::string status = one_line(status_());
    if (status != last_status_) {
        last_status_ = std::move(status);
        send("STATUS=" + last_status_);
    }
    do_status_wait();
}

void service_notifier::do_watchdog_wait() {
    watchdog_timer_.expires_after(watchdog_interval_);
    watchdog_timer_.async_wait([this](boost::system::error_code ec) { on_watchdog_wait(ec); });
}

void service_notifier::on_watchdog_wait(boost::system::error_code ec) {
    if (ec) return;
    send("WATCHDOG=1");
    do_watchdog_wait();
}

void service_notifier::send(const std::string& message) {
    // NOTE: sd_notify() opens, sends and closes a datagram socket each time; it is cheap at the
    // rate of a few messages a second, and it is safe from any thread.
    const int result = sd_notify(0, message.c_str());
    if (result < 0) {
        notify_errors_.report(std::string("cannot notify systemd: ") + std::strerror(-result));
    }
}

}  // namespace seshook
