#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "seshook/config/config.hpp"
#include "seshook/support/logging.hpp"

namespace seshook {

/// Runs the daemon with `cfg` until SIGTERM or SIGINT: opens the rejects file and the sinks,
/// listens, serves, then drains within the shutdown grace period. SIGHUP reopens every file and
/// reloads the config file (see config_reloader); `log_level_override`, the --log-level of the
/// command line, stays in force over the file's `[log] level`. Returns the process exit code: 0
/// after a clean stop, 1 when it could not start.
int run_daemon(const config& cfg, const std::string& log_level_override = {});

/// Returns the warning to log at start when the endpoint, bound to the IP address `bound`,
/// accepts callbacks from anyone: no token nor Basic user is configured and the address is not
/// loopback. Returns nothing otherwise.
std::optional<std::string> open_endpoint_warning(const auth_config& auth, std::string_view bound);

}  // namespace seshook
