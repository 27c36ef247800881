#pragma once

#include <string_view>

namespace seshook {

/// How each log line is written; see `[log] format`.
enum class log_format {
    text,  // "2026-12-03T19:10:12.345+0000 info [daemon] message"
    json,  // {"time":"2026-12-03T19:10:12.345Z","level":"info","component":"daemon","message":...}
};

/// Returns the config word of the format, e.g. "json".
std::string_view to_string(log_format format) noexcept;

}  // namespace seshook
