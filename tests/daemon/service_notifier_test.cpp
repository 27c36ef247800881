// The messages to systemd, in-process: on a NOTIFY_SOCKET of the test, or none without one.

#include "seshook/daemon/service_notifier.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <string>

#include "support/notify_socket.hpp"

namespace seshook {
namespace {

using namespace std::chrono_literals;
using testing::notify_socket;
using testing::notify_value;

// Sets NOTIFY_SOCKET (and WATCHDOG_USEC when asked) for one test, as systemd would, and removes
// them after it.
class ServiceNotifier : public ::testing::Test {
protected:
    void TearDown() override {
        ::unsetenv("NOTIFY_SOCKET");
        ::unsetenv("WATCHDOG_USEC");
    }

    void point_at(const notify_socket& notify) {
        const std::string variable = notify.environment();
        ::setenv("NOTIFY_SOCKET", variable.substr(variable.find('=') + 1).c_str(), 1);
    }

    boost::asio::io_context io_;
};

TEST_F(ServiceNotifier, DoesNothingWithoutNotifySocket) {
    ::unsetenv("NOTIFY_SOCKET");
    ::setenv("WATCHDOG_USEC", "20000", 1);
    std::atomic<int> asked{0};
    service_notifier notifier(
        io_, [&] { return std::to_string(++asked); }, 10ms);

    notifier.ready();
    io_.run_for(100ms);
    notifier.stopping("stopping");
    EXPECT_FALSE(notifier.enabled());
    EXPECT_EQ(asked.load(), 0);
}

TEST_F(ServiceNotifier, SendsTheStatusOnlyWhenItChanged) {
    notify_socket notify;
    point_at(notify);
    std::string status = "first";
    service_notifier notifier(
        io_, [&] { return status; }, 10ms);

    // READY=1 carries the first status; an unchanged status is not sent again.
    notifier.ready();
    const auto ready = notify.receive(1s);
    ASSERT_TRUE(ready);
    EXPECT_EQ(*ready, "READY=1\nSTATUS=first");
    io_.run_for(100ms);
    EXPECT_FALSE(notify.receive(0ms));

    // A new text is, on one line.
    status = "second\nline";
    io_.run_for(100ms);
    EXPECT_EQ(notify.receive(1s).value_or(""), "STATUS=second line");
    EXPECT_FALSE(notify.receive(0ms));
}

TEST_F(ServiceNotifier, StoppingEndsTheStatusUpdatesButNotTheKeepAlives) {
    notify_socket notify;
    point_at(notify);
    ::setenv("WATCHDOG_USEC", "40000", 1);
    int asked = 0;
    service_notifier notifier(
        io_, [&] { return "status " + std::to_string(++asked); }, 5ms);
    notifier.ready();
    ASSERT_TRUE(notify.wait_for_line("READY=1", 1s));

    notifier.stopping("stopping: draining");
    const auto stopping = notify.wait_for_line("STOPPING=1", 1s);
    ASSERT_TRUE(stopping);
    EXPECT_EQ(notify_value(*stopping, "STATUS"), "stopping: draining");

    // Keep-alives every 20 ms go on; no status comes after STOPPING=1.
    io_.run_for(200ms);
    int keep_alives = 0;
    while (const auto message = notify.receive(0ms)) {
        EXPECT_FALSE(notify_value(*message, "STATUS")) << *message;
        if (*message == "WATCHDOG=1") ++keep_alives;
    }
    EXPECT_GE(keep_alives, 3);
}

}  // namespace
}  // namespace seshook
