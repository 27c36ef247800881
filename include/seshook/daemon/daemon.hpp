#pragma once

#include "seshook/config/config.hpp"

namespace seshook {

/// Runs the daemon with `cfg` until SIGTERM or SIGINT: opens the rejects file and the sinks,
/// listens, serves, then drains within the shutdown grace period. SIGHUP reopens every file.
/// Returns the process exit code: 0 after a clean stop, 1 when it could not start.
int run_daemon(const config& cfg);

/// Sets up spdlog's default logger (stderr, timestamped) at the named level.
void set_up_logging(const std::string& level);

}  // namespace seshook
