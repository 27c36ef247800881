#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/temp_dir.hpp"

namespace seshook::testing {

/// A unix datagram socket in a fresh folder, playing systemd's part: a daemon started with
/// environment() sends its sd_notify messages ("READY=1\nSTATUS=...") here.
class notify_socket {
public:
    /// Binds the socket; throws std::system_error on failure.
    notify_socket();
    ~notify_socket();
    notify_socket(const notify_socket&) = delete;
    notify_socket& operator=(const notify_socket&) = delete;

    /// Returns "NOTIFY_SOCKET=<path>", for the daemon's environment.
    std::string environment() const { return "NOTIFY_SOCKET=" + path_.string(); }

    /// Waits up to `timeout` for the next message and returns it; nothing when none came.
    std::optional<std::string> receive(std::chrono::milliseconds timeout);

    /// Receives messages until one holds the line `line` (e.g. "READY=1") and returns that
    /// message; nothing when `timeout` passed first.
    std::optional<std::string> wait_for_line(std::string_view line,
                                             std::chrono::milliseconds timeout);

    /// Returns every message received so far, in order.
    const std::vector<std::string>& received() const noexcept { return received_; }

private:
    temp_dir dir_;
    std::filesystem::path path_;
    int fd_ = -1;
    std::vector<std::string> received_;
};

/// Returns the lines of an sd_notify message.
std::vector<std::string> notify_lines(std::string_view message);

/// Returns the value of the `NAME=` line of an sd_notify message ("STATUS" gives the status
/// text); nothing when the message has none.
std::optional<std::string> notify_value(std::string_view message, std::string_view name);

}  // namespace seshook::testing
