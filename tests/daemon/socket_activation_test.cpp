// Matching the sockets systemd passes (socket activation) to the plain and HTTPS listeners, on
// real descriptors of each kind.

#include "seshook/daemon/socket_activation.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace seshook {
namespace {

using ::testing::HasSubstr;

// A descriptor of the test, closed when it goes away.
class descriptor {
public:
    explicit descriptor(int fd) : fd_(fd) {
        if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "descriptor");
    }
    descriptor(descriptor&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    ~descriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    descriptor& operator=(descriptor&&) = delete;
    int fd() const noexcept { return fd_; }

private:
    int fd_;
};

// Returns a socket of `type` bound to an ephemeral loopback port, listening when asked.
descriptor loopback_socket(int type, bool listening) {
    descriptor s(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(s.fd(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        (listening && ::listen(s.fd(), 16) != 0)) {
        throw std::system_error(errno, std::generic_category(), "bind or listen");
    }
    return s;
}

descriptor listening_tcp() { return loopback_socket(SOCK_STREAM, true); }

// Returns the message of the error match_passed_listeners() throws for `passed`.
std::string refusal(const std::vector<passed_descriptor>& passed, bool plain = true,
                    bool tls = true) {
    try {
        (void)match_passed_listeners(passed, plain, tls);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "accepted";
}

TEST(SocketActivation, MatchesEachListeningSocketByItsName) {
    const auto http = listening_tcp();
    const auto https = listening_tcp();
    const std::vector<passed_descriptor> passed{{https.fd(), "https"}, {http.fd(), "http"}};

    const auto found = match_passed_listeners(passed, true, true);
    EXPECT_EQ(found.plain, http.fd());
    EXPECT_EQ(found.tls, https.fd());
}

TEST(SocketActivation, LeavesAListenerWithoutPassedSocketToBindItsOwn) {
    const auto http = listening_tcp();
    const auto found = match_passed_listeners({{{http.fd(), "http"}}}, true, true);
    EXPECT_EQ(found.plain, http.fd());
    EXPECT_EQ(found.tls, -1);
    EXPECT_EQ(match_passed_listeners({}, true, true).plain, -1);
}

TEST(SocketActivation, RefusesWhatIsNotAListeningTcpSocket) {
    const auto bound_only = loopback_socket(SOCK_STREAM, false);
    const auto datagram = loopback_socket(SOCK_DGRAM, false);
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    const descriptor read_end(pipe_fds[0]);
    const descriptor write_end(pipe_fds[1]);

    for (const int fd : {bound_only.fd(), datagram.fd(), read_end.fd()}) {
        EXPECT_THAT(refusal({{fd, "http"}}), HasSubstr("is not a listening TCP socket")) << fd;
    }
}

TEST(SocketActivation, RefusesANameItDoesNotKnowAndSaysWhichToUse) {
    const auto s = listening_tcp();
    EXPECT_THAT(refusal({{s.fd(), "seshook.socket"}}),
                HasSubstr("(\"seshook.socket\") has no known name: set FileDescriptorName=http"));
    EXPECT_THAT(refusal({{s.fd(), "unknown"}}), HasSubstr("has no known name"));
}

TEST(SocketActivation, RefusesTwoSocketsOfOneName) {
    const auto first = listening_tcp();
    const auto second = listening_tcp();
    EXPECT_THAT(refusal({{first.fd(), "http"}, {second.fd(), "http"}}),
                HasSubstr("shares its name with descriptor " + std::to_string(first.fd())));
}

TEST(SocketActivation, RefusesASocketForAListenerTheConfigHasNot) {
    const auto s = listening_tcp();
    EXPECT_THAT(refusal({{s.fd(), "https"}}, true, false),
                HasSubstr("is for HTTPS, but the config has no [tls] table"));
    EXPECT_THAT(refusal({{s.fd(), "http"}}, false, true),
                HasSubstr("is for plain HTTP, but [server] listen is \"\""));
}

TEST(SocketActivation, FindsNothingWhenSystemdPassedNothing) {
    // NOTE: the test runs without LISTEN_FDS, as the daemon does outside socket activation.
    const auto found = take_passed_listeners(true, true);
    EXPECT_EQ(found.plain, -1);
    EXPECT_EQ(found.tls, -1);
}

}  // namespace
}  // namespace seshook
