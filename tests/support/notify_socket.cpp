#include "support/notify_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace seshook::testing {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

notify_socket::notify_socket() : path_(dir_ / "notify") {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "notify socket");
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string path = path_.string();
    if (path.size() >= sizeof address.sun_path) {
        throw std::runtime_error("notify socket path too long: " + path);
    }
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        const int error = errno;
        ::close(fd_);
        throw std::system_error(error, std::generic_category(), "bind " + path);
    }
}

notify_socket::~notify_socket() {
    if (fd_ >= 0) ::close(fd_);
}

std::optional<std::string> notify_socket::receive(milliseconds timeout) {
    pollfd waiting{fd_, POLLIN, 0};
    const int ready = ::poll(&waiting, 1, static_cast<int>(timeout.count()));
    if (ready <= 0) return std::nullopt;
    std::array<char, 4096> buffer{};
    const ssize_t got = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (got < 0) return std::nullopt;
    received_.emplace_back(buffer.data(), static_cast<std::size_t>(got));
    return received_.back();
}

std::optional<std::string> notify_socket::wait_for_line(std::string_view line,
                                                        milliseconds timeout) {
    const auto deadline = steady_clock::now() + timeout;
    while (true) {
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        const auto message = receive(left);
        if (!message) return std::nullopt;
        for (const auto& l : notify_lines(*message)) {
            if (l == line) return message;
        }
    }
}

std::vector<std::string> notify_lines(std::string_view message) {
    std::vector<std::string> lines;
    while (!message.empty()) {
        const auto end = message.find('\n');
        lines.emplace_back(message.substr(0, end));
        if (end == std::string_view::npos) break;
        message.remove_prefix(end + 1);
    }
    return lines;
}

std::optional<std::string> notify_value(std::string_view message, std::string_view name) {
    const std::string prefix = std::string(name) + "=";
    for (const auto& line : notify_lines(message)) {
        if (line.starts_with(prefix)) return line.substr(prefix.size());
    }
    return std::nullopt;
}

}  // namespace seshook::testing
