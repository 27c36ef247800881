#include "seshook/daemon/socket_activation.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace seshook {

namespace {

constexpr std::string_view plain_name = "http";
constexpr std::string_view tls_name = "https";

[[noreturn]] void refuse(const passed_descriptor& d, std::string_view why) {
    throw std::runtime_error(
        fmt::format("socket activation: descriptor {} (\"{}\") {}", d.fd, d.name, why));
}

// Frees the name list libsystemd allocated, whatever happens while it is read.
struct name_list {
    char** names = nullptr;
    ~name_list() {
        if (names == nullptr) return;
        for (char** n = names; *n != nullptr; ++n) std::free(*n);
        std::free(names);
    }
};

}  // namespace

passed_listeners match_passed_listeners(std::span<const passed_descriptor> passed,
                                        bool plain_wanted, bool tls_wanted) {
    passed_listeners found;
    for (const auto& d : passed) {
        // Only a TCP socket that already listens can be accepted on.
        if (sd_is_socket_inet(d.fd, AF_UNSPEC, SOCK_STREAM, 1, 0) <= 0) {
            refuse(d, "is not a listening TCP socket (ListenStream= in the socket unit)");
        }

        // The name says which listener it replaces.
        int* slot = nullptr;
        if (d.name == plain_name) {
            if (!plain_wanted) refuse(d, "is for plain HTTP, but [server] listen is \"\"");
            slot = &found.plain;
        } else if (d.name == tls_name) {
            if (!tls_wanted) refuse(d, "is for HTTPS, but the config has no [tls] table");
            slot = &found.tls;
        } else {
            refuse(d,
                   "has no known name: set FileDescriptorName=http (plain HTTP) or "
                   "FileDescriptorName=https (the [tls] listener) in the socket unit");
        }
        if (*slot >= 0) refuse(d, fmt::format("shares its name with descriptor {}", *slot));
        *slot = d.fd;
    }
    return found;
}

passed_listeners take_passed_listeners(bool plain_wanted, bool tls_wanted) {
    // NOTE: with unset_environment, a child process (none today) does not take them for its own;
    // libsystemd also marks them close-on-exec.
    name_list names;
    const int count = sd_listen_fds_with_names(1, &names.names);
    if (count < 0) {
        throw std::runtime_error(
            fmt::format("socket activation: cannot read LISTEN_FDS: {}", std::strerror(-count)));
    }
    std::vector<passed_descriptor> passed;
    for (int i = 0; i < count; ++i) {
        passed.push_back(
            {SD_LISTEN_FDS_START + i,
             names.names != nullptr && names.names[i] != nullptr ? names.names[i] : "unknown"});
    }
    const auto found = match_passed_listeners(passed, plain_wanted, tls_wanted);
    for (const auto& d : passed) {
        spdlog::info("[systemd] using the socket systemd passed as descriptor {} for {}", d.fd,
                     d.name == plain_name ? "plain HTTP" : "HTTPS");
    }
    return found;
}

}  // namespace seshook
