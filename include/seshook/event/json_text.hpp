#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace seshook {

/// Returns the JSON text without the whitespace between tokens; strings and numbers keep their
/// exact bytes. The input must already be valid JSON.
std::string compact_json(std::string_view json);

/// Splits the text of a valid top-level JSON array into the exact text of each element, in
/// order, without the surrounding whitespace. The input must already be valid JSON.
std::vector<std::string_view> split_json_array(std::string_view json);

/// Returns true when `text` is well-formed UTF-8.
bool is_valid_utf8(std::string_view text) noexcept;

}  // namespace seshook
