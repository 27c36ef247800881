#pragma once

#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "seshook/event/schema.hpp"

namespace seshook::detail {

/// Maps a key of an event object to the text that duplicate detection compares, so that the
/// schema decides which keys are equal without regard to case.
using key_folder = std::string (*)(std::string_view key);

/// Reads a callback body into a JSON value, refusing (never throwing) a byte order mark,
/// invalid UTF-8, a NUL byte, nesting deeper than the limit, invalid JSON, a duplicate key and a
/// batch longer than the limit. `body` must already be trimmed of surrounding whitespace. Keys of
/// event objects (the top-level object, or the objects directly inside a top-level array) pass
/// through `fold_event_key` before they are compared; keys of nested objects are compared exactly.
boost::system::result<nlohmann::json, schema_rejection> read_json(std::string_view body,
                                                                  const schema_limits& limits,
                                                                  key_folder fold_event_key);

}  // namespace seshook::detail
