#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "seshook/support/error_reporter.hpp"

namespace seshook {

/// Keeps systemd informed through NOTIFY_SOCKET (sd_notify): READY=1 once the daemon serves, a
/// STATUS= line whenever the status text changes, STOPPING=1 when the stop begins, and WATCHDOG=1
/// at half the interval systemd asks for (WatchdogSec=). Its timers run on the I/O loop, so that
/// a loop that no longer runs handlers stops the keep-alives, and systemd restarts the service.
/// Does nothing at all without NOTIFY_SOCKET (when systemd did not start the daemon).
class service_notifier {
public:
    /// Returns the status text of the moment; called on the I/O loop.
    using status_fn = std::function<std::string()>;

    /// `status` is asked every `status_interval`; only a changed text is sent.
    service_notifier(boost::asio::io_context& io, status_fn status,
                     std::chrono::milliseconds status_interval = std::chrono::seconds(2));

    /// Returns true when NOTIFY_SOCKET names where to send.
    bool enabled() const noexcept { return enabled_; }

    /// Sends READY=1 with the first status, then starts the status and watchdog timers. Call it
    /// once the listeners are bound and the sinks are open.
    void ready();

    /// Sends STOPPING=1 with `why` as the status and stops the status updates; the keep-alives
    /// go on as long as the I/O loop runs. Safe to call from any I/O thread.
    void stopping(std::string why);

private:
    void do_status_wait();
    void on_status_wait(boost::system::error_code ec);
    void do_watchdog_wait();
    void on_watchdog_wait(boost::system::error_code ec);
    void send(const std::string& message);

    boost::asio::strand<boost::asio::io_context::executor_type> strand_;
    boost::asio::steady_timer status_timer_;
    boost::asio::steady_timer watchdog_timer_;
    status_fn status_;
    std::chrono::milliseconds status_interval_;
    std::chrono::microseconds watchdog_interval_{0};  // zero: systemd wants no keep-alives
    std::string last_status_;
    bool enabled_ = false;
    std::atomic<bool> stopping_{false};  // set by stopping(), from any thread
    error_reporter notify_errors_{"systemd"};
};

}  // namespace seshook
