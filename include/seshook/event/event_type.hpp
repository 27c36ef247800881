#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace seshook {

/// The kinds of event that Tencent Cloud SES reports; the values are the documented `eventid`s.
enum class event_type : std::uint8_t {
    unknown = 0,  // a name seshook does not know yet (kept and flagged)
    delivered = 1,
    dropped = 2,
    bounce = 3,
    open = 4,
    click = 5,
    spamreport = 6,
    unsubscribe = 7,
    deferred = 8,
};

/// Returns the event's name as Tencent spells it ("bounce"), or "unknown".
std::string_view to_string(event_type type) noexcept;

/// Returns the type named `name` (exact, lowercase as documented), or nothing when unknown.
std::optional<event_type> event_type_from_name(std::string_view name) noexcept;

/// Returns the type whose documented `eventid` is `id`, or nothing when no type has it.
std::optional<event_type> event_type_from_id(std::int64_t id) noexcept;

}  // namespace seshook
