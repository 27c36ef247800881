#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace seshook {

/// Parses a duration written as a number with a unit: "250ms", "10s", "5m", "24h".
/// Returns nothing when the text is not such a duration (a bare number has no unit and is refused).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace seshook
