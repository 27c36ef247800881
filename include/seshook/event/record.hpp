#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "seshook/event/schema.hpp"

namespace seshook {

/// An accepted event as seshook hands it to the sinks: the validated event and when and from
/// whom it was received. Immutable once built; sinks share it through record_ptr.
struct record {
    validated_event event;
    std::string received_at;  // RFC 3339 UTC with milliseconds
    std::string peer;         // the client address, "203.0.113.7" or "2001:db8::1"

    /// Returns the record as one JSON line (no newline):
    /// {"id":…,"receivedAt":…,"peer":…,"payload":{the event as received}} and, for an event
    /// name seshook does not know, "unknownEvent":true.
    std::string to_json_line() const;
};

using record_ptr = std::shared_ptr<const record>;

/// Builds the shared record of a validated event received now from `peer`.
record_ptr make_record(validated_event event, std::string peer,
                       std::chrono::system_clock::time_point received_at);

/// Rebuilds a record from what was kept of it (the spool, a records file): the event's exact
/// bytes, and when and from whom it was received. The bytes are validated again, leniently, so
/// that a record accepted under either schema mode comes back. Throws std::invalid_argument,
/// saying why, when `raw` is not exactly one valid event.
record_ptr rebuild_record(std::string_view raw, std::string received_at, std::string peer);

}  // namespace seshook
