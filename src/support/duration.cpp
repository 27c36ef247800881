#include "seshook/support/duration.hpp"

#include <charconv>
#include <cstdint>
#include <limits>

namespace seshook {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    // Read the leading digits.
    std::int64_t amount = 0;
    const char* end = text.data() + text.size();
    auto [unit_start, ec] = std::from_chars(text.data(), end, amount);
    if (ec != std::errc{} || unit_start == text.data() || amount < 0) return std::nullopt;

    // Scale by the unit that follows them.
    const std::string_view unit(unit_start, static_cast<std::size_t>(end - unit_start));
    std::int64_t scale = 0;
    if (unit == "ms") {
        scale = 1;
    } else if (unit == "s") {
        scale = 1000;
    } else if (unit == "m") {
        scale = 60 * 1000;
    } else if (unit == "h") {
        scale = 60 * 60 * 1000;
    } else {
        return std::nullopt;
    }
    if (amount > std::numeric_limits<std::int64_t>::max() / scale) return std::nullopt;
    return std::chrono::milliseconds(amount * scale);
}

}  // namespace seshook
