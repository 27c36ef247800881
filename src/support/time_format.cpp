#include "seshook/support/time_format.hpp"

#include <ctime>

#include <fmt/format.h>

namespace seshook {

std::string format_rfc3339_ms(std::chrono::system_clock::time_point when) {
    using namespace std::chrono;
    const auto since_epoch = duration_cast<milliseconds>(when.time_since_epoch());
    const std::time_t seconds = static_cast<std::time_t>(floor<std::chrono::seconds>(since_epoch).count());
    const auto millis = since_epoch.count() - static_cast<long long>(seconds) * 1000;

    std::tm utc{};
    gmtime_r(&seconds, &utc);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900,
                       utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
}

}  // namespace seshook
