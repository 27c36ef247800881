#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

// Cheap byte scans that let the schema refuse hostile bodies before a real parser sees them.
// Defined in src/event/json_text.cpp.
namespace seshook::detail {

/// Returns the offset of the first byte that breaks UTF-8 well-formedness, or nothing.
std::optional<std::size_t> find_invalid_utf8(std::string_view text) noexcept;

/// Returns true when brackets outside strings nest deeper than `max_depth`. It stops at the
/// first bracket past the limit, so a megabyte of "[[[[" is refused after `max_depth + 1` bytes.
bool nests_deeper_than(std::string_view json, std::size_t max_depth) noexcept;

/// Returns `text` without the JSON whitespace (space, tab, line feed, carriage return) around it.
std::string_view trim_json_whitespace(std::string_view text) noexcept;

}  // namespace seshook::detail
