#pragma once

#include <span>
#include <string>

#include "seshook/http/server.hpp"

namespace seshook {

/// One descriptor a service manager handed over, with the name it gave it (the
/// FileDescriptorName= of a systemd socket unit).
struct passed_descriptor {
    int fd = -1;
    std::string name;
};

/// Picks the listening sockets of the plain and the HTTPS listener among `passed`: the one named
/// "http" and the one named "https". `plain_wanted` and `tls_wanted` say which listeners the
/// config has. Throws std::runtime_error ("socket activation: ...") for a descriptor that is not
/// a listening TCP socket, has another name, shares its name with another, or names a listener
/// the config does not have.
passed_listeners match_passed_listeners(std::span<const passed_descriptor> passed,
                                        bool plain_wanted, bool tls_wanted);

/// Returns the listening sockets systemd passed to this process (LISTEN_FDS, LISTEN_PID and
/// LISTEN_FDNAMES), matched as match_passed_listeners() does; none when it passed none. The
/// variables are removed from the environment and the descriptors are closed on exec.
passed_listeners take_passed_listeners(bool plain_wanted, bool tls_wanted);

}  // namespace seshook
