#pragma once

#include <chrono>
#include <string>

namespace seshook {

/// Formats a point in time as RFC 3339 in UTC with milliseconds: 2026-12-03T19:10:12.345Z.
std::string format_rfc3339_ms(std::chrono::system_clock::time_point when);

}  // namespace seshook
