#pragma once

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>

namespace seshook {

/// Returns `text` with control characters written as \xNN and cut after `max_length` bytes
/// (marked "..."), so that text from a payload can be logged without forging or breaking
/// log lines.
std::string printable(std::string_view text,
                      std::size_t max_length = std::numeric_limits<std::size_t>::max());

}  // namespace seshook
