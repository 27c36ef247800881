#pragma once

#include <boost/system/result.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "seshook/event/event_type.hpp"

namespace seshook {

/// How forgiving validation is; see `[schema] mode` in config/seshook.toml.
enum class schema_mode {
    lenient,  // digit strings for integers and unknown event names are accepted
    strict,   // both are rejected
};

/// Why a callback body was rejected; `to_string` gives the machine-readable code.
enum class schema_error {
    invalid_json,      // not JSON at all, or invalid UTF-8 inside it
    too_deep,          // nested deeper than the limit
    duplicate_key,     // the same key twice in one object (known keys compared without case)
    not_an_event,      // neither an object nor an array of objects
    empty_batch,       // an empty array
    batch_too_large,   // more elements than the limit
    missing_field,     // a required field is absent
    wrong_type,        // a field has the wrong JSON type
    invalid_value,     // a field has the right type but a value outside its domain
    unknown_event,     // strict mode: an event name seshook does not know
    eventid_mismatch,  // `eventid` disagrees with `event`
};

/// Returns the machine-readable code of the error, e.g. "missing_field".
std::string_view to_string(schema_error error) noexcept;

/// A rejected body: what is wrong, in which field, of which element of a batch.
struct schema_rejection {
    schema_error error;
    std::string field;                 // the offending key as documented, "" when none
    std::string detail;                // one sentence for a human, e.g. "field 'email' is missing"
    std::optional<std::size_t> index;  // the element of a batch, when the body is an array
};

/// Limits that keep hostile bodies cheap to refuse.
struct schema_limits {
    std::size_t max_depth = 16;
    std::size_t max_batch = 1000;
};

/// One event that passed validation, with the fields seshook itself uses.
struct validated_event {
    event_type type = event_type::unknown;
    std::string event;  // the name as received
    std::string email;
    std::string bulk_id;
    std::string reason;       // "" when absent
    std::string bounce_type;  // "" when absent
    std::string link;         // "" when absent
    std::string username;     // the Tencent account id (appId, digits), "" when absent
    std::optional<std::int64_t> timestamp;  // Unix seconds when present
    std::string id;                         // make_event_id() of the identity fields
    std::string raw;                        // the element's exact bytes as received
    bool unknown_event = false;
};

/// Parses a callback body (one event object or an array of them) and validates each event
/// against the schema of SPEC.md. Never throws on any input.
boost::system::result<std::vector<validated_event>, schema_rejection> parse_callback(
    std::string_view body, schema_mode mode, const schema_limits& limits = {});

/// Lets boost::system::result::value() throw when it holds a rejection.
[[noreturn]] void throw_exception_from_error(const schema_rejection& rejection,
                                             const boost::source_location& location);

}  // namespace seshook
