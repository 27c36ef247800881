// End to end: the systemd integration. The test plays systemd's part: it takes the daemon's
// sd_notify messages on a NOTIFY_SOCKET of its own, and hands it listening sockets the way
// socket activation does (descriptors 3 and on, LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>

#include "integration/integration_helpers.hpp"
#include "support/notify_socket.hpp"
#include "support/test_certificates.hpp"

namespace seshook::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Systemd = daemon_test;

constexpr auto patience = 10s;

// A socket of the test on 127.0.0.1 and an ephemeral port: by default one that listens, as
// systemd makes for a socket unit's ListenStream=.
class test_socket {
public:
    explicit test_socket(int type = SOCK_STREAM, bool listening = true)
        : fd_(::socket(AF_INET, type | SOCK_CLOEXEC, 0)) {
        if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
            (listening && ::listen(fd_, SOMAXCONN) != 0) ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
            const int error = errno;
            ::close(fd_);
            throw std::system_error(error, std::generic_category(), "bind or listen");
        }
        port_ = ntohs(address.sin_port);
    }
    ~test_socket() { ::close(fd_); }
    test_socket(const test_socket&) = delete;
    test_socket& operator=(const test_socket&) = delete;

    int fd() const noexcept { return fd_; }
    std::uint16_t port() const noexcept { return port_; }

private:
    int fd_;
    std::uint16_t port_ = 0;
};

// Returns a loopback port that nothing listens on at the moment.
std::uint16_t unused_port() { return test_socket(SOCK_STREAM, false).port(); }

daemon_options notified_by(const notify_socket& notify) {
    daemon_options options;
    options.environment.push_back(notify.environment());
    return options;
}

unsigned get_healthz(std::uint16_t port) {
    return send_once(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status;
}

unsigned post(std::uint16_t port, std::string_view body) {
    return send_once(port, make_post("/callback", body)).status;
}

TEST_F(Systemd, ReadyComesOnceTheListenerIsBoundAndTheSinksAreOpen) {
    notify_socket notify;
    auto& daemon = start_daemon(notified_by(notify));

    // READY=1 is the first message, and comes with a status naming the bound port: the config
    // asks for port 0, so the port is known only once the listener is bound.
    const auto ready = notify.wait_for_line("READY=1", patience);
    ASSERT_TRUE(ready) << "no READY=1";
    EXPECT_EQ(notify.received().size(), 1u);
    const auto status = notify_value(*ready, "STATUS");
    ASSERT_TRUE(status);
    EXPECT_THAT(*status,
                StartsWith("listening on 127.0.0.1:" + std::to_string(daemon.port()) + " (http)"));

    // By then the file sink has opened its file and the port answers.
    EXPECT_TRUE(std::filesystem::exists(daemon.events_path()));
    EXPECT_EQ(get_healthz(daemon.port()), 200u);

    // Without WATCHDOG_USEC, systemd wants no keep-alives, and none are planned.
    EXPECT_FALSE(daemon.log_contains("keep-alive"));
}

TEST_F(Systemd, StatusCountsAcceptedRepeatedAndRejectedEventsAndEachSink) {
    notify_socket notify;
    auto& daemon = start_daemon(notified_by(notify));
    ASSERT_TRUE(notify.wait_for_line("READY=1", patience));

    // One event, the same again, and a body that is not JSON.
    ASSERT_EQ(post(daemon.port(), sample_event(1)), 200u);
    ASSERT_EQ(post(daemon.port(), sample_event(1)), 200u);
    ASSERT_EQ(post(daemon.port(), "not json"), 400u);

    // A later status says so, with what the file sink delivered.
    const std::string counts = "1 events accepted, 1 repeats, 1 requests rejected";
    const std::string sink = "sink events: 1 delivered, 0 failed";
    std::string last;
    const auto deadline = std::chrono::steady_clock::now() + patience;
    while (std::chrono::steady_clock::now() < deadline) {
        const auto message = notify.receive(1s);
        if (!message) continue;
        if (const auto status = notify_value(*message, "STATUS")) last = *status;
        if (last.find(counts) != last.npos && last.find(sink) != last.npos) break;
    }
    EXPECT_THAT(last, HasSubstr(counts));
    EXPECT_THAT(last, HasSubstr(sink));
}

TEST_F(Systemd, StoppingIsSentWhenSigtermBeginsTheStop) {
    notify_socket notify;
    auto& daemon = start_daemon(notified_by(notify));
    ASSERT_TRUE(notify.wait_for_line("READY=1", patience));

    daemon.send_signal(SIGTERM);
    const auto stopping = notify.wait_for_line("STOPPING=1", patience);
    ASSERT_TRUE(stopping) << "no STOPPING=1";
    EXPECT_THAT(notify_value(*stopping, "STATUS").value_or(""), StartsWith("stopping"));
    EXPECT_EQ(daemon.wait_exit(patience), 0);
}

TEST_F(Systemd, WatchdogKeepAlivesRepeatWhileTheDaemonServes) {
    // WatchdogSec=300ms, as systemd passes it: keep-alives every 150 ms.
    notify_socket notify;
    auto options = notified_by(notify);
    options.environment.push_back("WATCHDOG_USEC=300000");
    auto& daemon = start_daemon(options);
    ASSERT_TRUE(notify.wait_for_line("READY=1", patience));

    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(notify.wait_for_line("WATCHDOG=1", patience)) << "keep-alive " << i;
    }
    EXPECT_TRUE(daemon.log_contains("keep-alive every 150 ms"));
}

TEST_F(Systemd, ServesOnAPassedSocketInsteadOfBindingTheConfiguredAddress) {
    test_socket passed;
    const std::uint16_t configured = unused_port();
    daemon_options options;
    options.listen = "127.0.0.1:" + std::to_string(configured);
    options.passed_sockets.push_back({passed.fd(), "http"});
    auto& daemon = start_daemon(options);

    // It listens on the passed socket, where an event goes through, and not where the config
    // says.
    EXPECT_EQ(daemon.port(), passed.port());
    EXPECT_TRUE(daemon.log_contains("[systemd] using the socket systemd passed as descriptor 3"));
    ASSERT_EQ(post(passed.port(), sample_event(1)), 200u);
    EXPECT_EQ(wait_for_json_lines(daemon.events_path(), 1, patience).size(), 1u);
    EXPECT_THROW(raw_connection{configured}, std::runtime_error);
}

TEST_F(Systemd, PassedSocketsGoToTheListenerTheirNameSays) {
    temp_dir certs;
    tls_identity::self_signed({"localhost", "127.0.0.1"})
        .write(certs / "cert.pem", certs / "key.pem");
    test_socket https;
    test_socket http;
    daemon_options options;
    options.tls_toml = "cert_file = \"" + (certs / "cert.pem").string() + "\"\nkey_file = \"" +
                       (certs / "key.pem").string() + "\"\n";
    options.passed_sockets.push_back({https.fd(), "https"});
    options.passed_sockets.push_back({http.fd(), "http"});
    auto& daemon = start_daemon(options);

    EXPECT_EQ(daemon.tls_port(), https.port());
    EXPECT_EQ(daemon.port(), http.port());
    EXPECT_EQ(get_healthz(http.port()), 200u);
}

TEST_F(Systemd, TheServedPortStaysOpenWhileTheDaemonRestarts) {
    // The test holds the listening socket, as systemd does for a socket unit.
    test_socket passed;
    temp_dir dir;
    daemon_options options;
    options.dir = dir.path();
    options.passed_sockets.push_back({passed.fd(), "http"});

    // A first daemon serves, then stops.
    auto& first = start_daemon(options);
    ASSERT_EQ(post(passed.port(), sample_event(1)), 200u);
    first.send_signal(SIGTERM);
    ASSERT_EQ(first.wait_exit(patience), 0);

    // While none runs, a client connects and sends its event: the kernel queues it.
    raw_connection client(passed.port(), 30s);
    client.send(make_post("/callback", sample_event(2)));

    // The next daemon, on the same socket, answers it.
    auto& second = start_daemon(options);
    EXPECT_EQ(client.read_response().status, 200u);
    EXPECT_EQ(wait_for_json_lines(second.events_path(), 2, patience).size(), 2u);
}

// Returns the output of a daemon that could not start with `options`.
std::string start_failure(const daemon_options& options) {
    try {
        daemon_process daemon(options);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "the daemon started";
}

TEST(SystemdRefusal, APassedSocketThatIsNotAListeningTcpSocketStopsTheStart) {
    test_socket datagram(SOCK_DGRAM, false);
    daemon_options options;
    options.passed_sockets.push_back({datagram.fd(), "http"});
    EXPECT_THAT(start_failure(options),
                HasSubstr("socket activation: descriptor 3 (\"http\") is not a listening TCP "
                          "socket"));
}

TEST(SystemdRefusal, APassedSocketWithAnotherNameStopsTheStart) {
    test_socket passed;
    daemon_options options;
    options.passed_sockets.push_back({passed.fd(), "seshook.socket"});
    EXPECT_THAT(start_failure(options), HasSubstr("set FileDescriptorName=http"));
}

TEST(SystemdRefusal, APassedHttpsSocketWithoutTlsStopsTheStart) {
    test_socket passed;
    daemon_options options;
    options.passed_sockets.push_back({passed.fd(), "https"});
    EXPECT_THAT(start_failure(options), HasSubstr("the config has no [tls] table"));
}

}  // namespace
}  // namespace seshook::testing
