#pragma once

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>

namespace seshook {

/// Returns `text` with control characters (ASCII and C1 controls, U+2028, U+2029) written as
/// \xNN and cut after `max_length` bytes (marked "...", and never inside a UTF-8 character), so
/// that text from a payload can be logged without forging or breaking log lines.
std::string printable(std::string_view text,
                      std::size_t max_length = std::numeric_limits<std::size_t>::max());

/// Returns a URL path fit for logs when it may hold a secret: the first segment is kept and the
/// rest hidden ("/callback/***"); a single segment longer than 12 characters shows 4 ("/cal***").
std::string masked_path(std::string_view path);

}  // namespace seshook
