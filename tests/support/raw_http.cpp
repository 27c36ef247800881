#include "support/raw_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace seshook::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

std::runtime_error failure(const std::string& what) {
    return std::runtime_error("raw_http: " + what);
}

}  // namespace

std::string raw_response::header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (equals_ignoring_case(key, name)) return value;
    }
    return {};
}

bool raw_response::has_header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (equals_ignoring_case(key, name)) return true;
    }
    return false;
}

raw_connection::raw_connection(std::uint16_t port, milliseconds timeout) : timeout_(timeout) {
    connect(port, "");
}

raw_connection::raw_connection(std::uint16_t port, const std::string& source, milliseconds timeout)
    : timeout_(timeout) {
    connect(port, source);
}

void raw_connection::connect(std::uint16_t port, const std::string& source) {
    const bool v6 = source.find(':') != std::string::npos;
    fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "raw_http: socket");
    const auto fail = [this](const std::string& what) {
        const int error = errno;
        ::close(fd_);
        fd_ = -1;
        return std::system_error(error, std::generic_category(), "raw_http: " + what);
    };

    // A chosen source address; any address of 127.0.0.0/8 is the loopback on Linux. From "::1",
    // the connection goes to [::1], which only a server listening there answers.
    sockaddr_in local{};
    local.sin_family = AF_INET;
    sockaddr_in6 local6{};
    local6.sin6_family = AF_INET6;
    if (!source.empty()) {
        void* bytes = v6 ? static_cast<void*>(&local6.sin6_addr) : &local.sin_addr;
        if (::inet_pton(v6 ? AF_INET6 : AF_INET, source.c_str(), bytes) != 1) {
            errno = EINVAL;
            throw fail("bad source address " + source);
        }
        const int bound =
            v6 ? ::bind(fd_, reinterpret_cast<const sockaddr*>(&local6), sizeof local6)
               : ::bind(fd_, reinterpret_cast<const sockaddr*>(&local), sizeof local);
        if (bound != 0) throw fail("bind to " + source);
    }

    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sockaddr_in6 address6{};
    address6.sin6_family = AF_INET6;
    address6.sin6_port = htons(port);
    address6.sin6_addr = in6addr_loopback;
    const int connected =
        v6 ? ::connect(fd_, reinterpret_cast<const sockaddr*>(&address6), sizeof address6)
           : ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    if (connected != 0) {
        throw fail(std::string("connect to ") + (v6 ? "[::1]:" : "127.0.0.1:") +
                   std::to_string(port));
    }

    // Small requests go out at once, so that pipelining and trickling tests mean what they say.
    const int on = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

raw_connection::~raw_connection() {
    if (fd_ >= 0) ::close(fd_);
}

void raw_connection::send(std::string_view bytes) {
    while (!bytes.empty()) {
        // NOTE: MSG_NOSIGNAL: a peer that closed must fail the test, not kill it with SIGPIPE.
        const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) continue;
        if (sent < 0) throw std::system_error(errno, std::generic_category(), "raw_http: send");
        bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
}

void raw_connection::shutdown_send() { ::shutdown(fd_, SHUT_WR); }

bool raw_connection::fill(milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    const auto deadline = steady_clock::now() + timeout;
    while (true) {
        const auto left =
            std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now()).count();
        if (left <= 0) throw failure("no data within " + std::to_string(timeout.count()) + " ms");
        const int ready = ::poll(&p, 1, static_cast<int>(left));
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) throw std::system_error(errno, std::generic_category(), "raw_http: poll");
        if (ready == 0) continue;

        std::array<char, 16384> chunk{};
        const ssize_t got = ::recv(fd_, chunk.data(), chunk.size(), 0);
        if (got < 0 && errno == EINTR) continue;
        if (got == 0 || (got < 0 && errno == ECONNRESET)) return false;
        if (got < 0) throw std::system_error(errno, std::generic_category(), "raw_http: recv");
        buffer_.append(chunk.data(), static_cast<std::size_t>(got));
        return true;
    }
}

std::string raw_connection::take_line() {
    while (true) {
        const auto end = buffer_.find("\r\n");
        if (end != std::string::npos) {
            std::string line = buffer_.substr(0, end);
            buffer_.erase(0, end + 2);
            return line;
        }
        if (!fill(timeout_)) {
            throw failure("connection closed before a whole response head (got \"" + buffer_ +
                          "\")");
        }
    }
}

raw_response raw_connection::read_response(bool to_head_request) {
    raw_response response;

    // Status line: "HTTP/1.1 200 OK".
    const std::string status_line = take_line();
    const auto first_space = status_line.find(' ');
    if (first_space == std::string::npos) throw failure("bad status line \"" + status_line + "\"");
    response.version = status_line.substr(0, first_space);
    const auto second_space = status_line.find(' ', first_space + 1);
    const std::string code = status_line.substr(first_space + 1, second_space - first_space - 1);
    const auto [stop, ec] =
        std::from_chars(code.data(), code.data() + code.size(), response.status);
    if (ec != std::errc{} || stop != code.data() + code.size()) {
        throw failure("bad status line \"" + status_line + "\"");
    }
    if (second_space != std::string::npos) response.reason = status_line.substr(second_space + 1);

    // Header lines up to the empty one.
    for (std::string line = take_line(); !line.empty(); line = take_line()) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) throw failure("bad header line \"" + line + "\"");
        response.headers.emplace_back(std::string(trim(std::string_view(line).substr(0, colon))),
                                      std::string(trim(std::string_view(line).substr(colon + 1))));
    }

    // An interim 1xx answer, and the answer to HEAD, carry no body.
    if (response.status >= 100 && response.status < 200) return response;
    if (to_head_request) return response;

    // The body: Content-Length bytes, or everything up to the end without one.
    if (response.has_header("Content-Length")) {
        const std::string text = response.header("Content-Length");
        std::size_t length = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), length);
        if (error != std::errc{}) throw failure("bad Content-Length \"" + text + "\"");
        while (buffer_.size() < length) {
            if (!fill(timeout_)) throw failure("connection closed inside a response body");
        }
        response.body = buffer_.substr(0, length);
        buffer_.erase(0, length);
    } else {
        while (fill(timeout_)) {
        }
        response.body = std::move(buffer_);
        buffer_.clear();
    }
    return response;
}

bool raw_connection::wait_closed(milliseconds timeout) {
    const auto deadline = steady_clock::now() + timeout;
    try {
        while (true) {
            const auto left =
                std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
            if (left.count() <= 0) return false;
            buffer_.clear();
            if (!fill(left)) return true;
        }
    } catch (const std::runtime_error&) {
        return false;
    }
}

std::optional<std::string> raw_connection::rest_until_closed(milliseconds timeout) {
    const auto deadline = steady_clock::now() + timeout;
    try {
        while (true) {
            const auto left =
                std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
            if (left.count() <= 0) return std::nullopt;
            if (!fill(left)) return std::exchange(buffer_, {});
        }
    } catch (const std::runtime_error&) {
        return std::nullopt;
    }
}

bool raw_connection::is_silent_for(milliseconds timeout) {
    if (!buffer_.empty()) return false;
    pollfd p{fd_, POLLIN, 0};
    int ready = 0;
    do {
        ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
    } while (ready < 0 && errno == EINTR);
    return ready == 0;
}

std::string make_post(std::string_view target, std::string_view body,
                      std::string_view extra_headers) {
    std::string request = "POST ";
    request += target;
    request += " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    request += extra_headers;
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    request += body;
    return request;
}

raw_response send_once(std::uint16_t port, std::string_view request, milliseconds timeout) {
    raw_connection connection(port, timeout);
    connection.send(request);
    return connection.read_response();
}

}  // namespace seshook::testing
