#include "seshook/event/schema.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "event/detail/json_reader.hpp"
#include "event/detail/json_scan.hpp"
#include "event/detail/text.hpp"
#include "seshook/event/event_id.hpp"
#include "seshook/event/json_text.hpp"

namespace seshook {

std::string_view to_string(schema_error error) noexcept {
    switch (error) {
        case schema_error::invalid_json:
            return "invalid_json";
        case schema_error::too_deep:
            return "too_deep";
        case schema_error::duplicate_key:
            return "duplicate_key";
        case schema_error::not_an_event:
            return "not_an_event";
        case schema_error::empty_batch:
            return "empty_batch";
        case schema_error::batch_too_large:
            return "batch_too_large";
        case schema_error::missing_field:
            return "missing_field";
        case schema_error::wrong_type:
            return "wrong_type";
        case schema_error::invalid_value:
            return "invalid_value";
        case schema_error::unknown_event:
            return "unknown_event";
        case schema_error::eventid_mismatch:
            return "eventid_mismatch";
    }
    return "unknown_error";
}

namespace {

using json = nlohmann::json;
using event_result = boost::system::result<validated_event, schema_rejection>;

enum class value_kind { string, integer };

struct field_spec {
    std::string_view name;  // as SPEC.md spells it
    value_kind kind;
};

// Every field of every schema generation in SPEC.md ("Fields"), in the order of its table,
// which is also the order in which their types are checked.
constexpr std::array<field_spec, 17> known_fields{{
    {"event", value_kind::string},
    {"email", value_kind::string},
    {"bulkId", value_kind::string},
    {"timestamp", value_kind::integer},
    {"reason", value_kind::string},
    {"bounceType", value_kind::string},
    {"link", value_kind::string},
    {"username", value_kind::string},
    {"from", value_kind::string},
    {"fromDomain", value_kind::string},
    {"templateId", value_kind::integer},
    {"useragent", value_kind::string},
    {"subject", value_kind::string},
    {"messageId", value_kind::string},
    {"eventid", value_kind::integer},
    {"taskId", value_kind::integer},
    {"sentTimestamp", value_kind::integer},
}};

consteval std::size_t field_index(std::string_view name) {
    for (std::size_t i = 0; i < known_fields.size(); ++i) {
        if (known_fields[i].name == name) return i;
    }
    throw "not a known field";  // fails the build
}

constexpr std::size_t event_field = field_index("event");
constexpr std::size_t email_field = field_index("email");
constexpr std::size_t bulk_id_field = field_index("bulkId");
constexpr std::size_t timestamp_field = field_index("timestamp");
constexpr std::size_t reason_field = field_index("reason");
constexpr std::size_t bounce_type_field = field_index("bounceType");
constexpr std::size_t link_field = field_index("link");
constexpr std::size_t username_field = field_index("username");
constexpr std::size_t eventid_field = field_index("eventid");

// Headers with this prefix given at send time come back as string fields of the event.
constexpr std::string_view custom_prefix = "x-tencentcloudses-cb-";

// Timestamps above this are taken as milliseconds: as seconds they would lie past year 33000.
constexpr std::int64_t millisecond_threshold = 1'000'000'000'000;

constexpr std::array<std::string_view, 4> bounce_types{"hard_bounce", "soft_bounce", "hard",
                                                       "soft"};

std::optional<std::size_t> find_known_field(std::string_view key) noexcept {
    for (std::size_t i = 0; i < known_fields.size(); ++i) {
        if (detail::iequals(key, known_fields[i].name)) return i;
    }
    return std::nullopt;
}

// Folds the keys of an event object for duplicate detection: known keys and custom header keys
// compare without case, any other key exactly.
std::string fold_event_key(std::string_view key) {
    if (const auto index = find_known_field(key)) return std::string(known_fields[*index].name);
    if (detail::istarts_with(key, custom_prefix)) return detail::ascii_lowercase(key);
    return std::string(key);
}

schema_rejection reject(schema_error error, std::string_view field, std::string detail) {
    return {error, std::string(field), std::move(detail), std::nullopt};
}

std::string field_text(std::string_view field) { return "field " + detail::quote(field); }

// Names the JSON type of a value with its article, for "must be a string, not an array".
std::string_view type_phrase(const json& value) noexcept {
    switch (value.type()) {
        case json::value_t::object:
            return "an object";
        case json::value_t::array:
            return "an array";
        case json::value_t::string:
            return "a string";
        case json::value_t::boolean:
            return "a boolean";
        case json::value_t::null:
            return "null";
        case json::value_t::binary:
            return "binary data";
        case json::value_t::discarded:
            return "nothing";
        default:
            return "a number";
    }
}

// The known fields of one event object, found without regard to the case of their keys.
struct event_fields {
    std::array<const json*, known_fields.size()> known{};  // nullptr when absent or null
    std::vector<std::pair<std::string_view, const json*>> custom;

    const json* operator[](std::size_t index) const noexcept { return known[index]; }

    std::string_view string_or_empty(std::size_t index) const {
        return known[index] != nullptr
                   ? std::string_view(known[index]->get_ref<const std::string&>())
                   : std::string_view();
    }
};

event_fields collect_fields(const json& object) {
    event_fields fields;
    for (const auto& [key, value] : object.get_ref<const json::object_t&>()) {
        // NOTE: null stands for "absent" on every known field; Tencent never sends null, but
        // other producers serialise missing optionals that way.
        if (value.is_null()) continue;
        if (const auto index = find_known_field(key)) {
            fields.known[*index] = &value;
        } else if (detail::istarts_with(key, custom_prefix)) {
            fields.custom.emplace_back(key, &value);
        }
    }
    return fields;
}

// Reads a documented integer field. Returns the number, or the end of the sentence that says
// what is wrong with it.
boost::system::result<std::int64_t, std::string> read_integer(const json& value, schema_mode mode) {
    constexpr auto int64_max = std::numeric_limits<std::int64_t>::max();
    const std::string out_of_range = "is beyond the 64-bit integer range";

    if (value.is_number_integer() && !value.is_number_unsigned()) {
        return value.get<std::int64_t>();
    }
    if (value.is_number_unsigned()) {
        const auto number = value.get<std::uint64_t>();
        if (number > static_cast<std::uint64_t>(int64_max)) return out_of_range;
        return static_cast<std::int64_t>(number);
    }
    if (value.is_number_float()) {
        // nlohmann reads integers past 64 bits as doubles; tell them apart from fractions.
        // Every double from 2^63 up is a whole number past the range of int64.
        const double number = value.get<double>();
        if (std::fabs(number) >= 0x1p63) return out_of_range;
        return std::string("must be an integer without fraction or exponent");
    }
    if (value.is_string()) {
        if (mode == schema_mode::strict) {
            return std::string("must be an integer, not a string (strict mode)");
        }
        const auto& text = value.get_ref<const std::string&>();
        std::int64_t number = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
        const bool all_digits =
            !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
        if (!all_digits) return std::string("must be an integer or a string of digits");
        if (error == std::errc::result_out_of_range) return out_of_range;
        if (error != std::errc() || end != text.data() + text.size()) {
            return std::string("must be an integer or a string of digits");
        }
        return number;
    }
    return "must be an integer, not " + std::string(type_phrase(value));
}

// Checks one event object and extracts what seshook uses from it.
event_result validate_event(const json& object, std::string_view raw, schema_mode mode) {
    const event_fields fields = collect_fields(object);

    // The two required fields.
    for (const std::size_t index : {event_field, email_field}) {
        const std::string_view name = known_fields[index].name;
        if (fields[index] == nullptr) {
            return reject(schema_error::missing_field, name, field_text(name) + " is missing");
        }
    }

    // The type of every known field that is present, then of the custom header fields.
    std::array<std::optional<std::int64_t>, known_fields.size()> integers{};
    for (std::size_t index = 0; index < known_fields.size(); ++index) {
        const json* value = fields[index];
        if (value == nullptr) continue;
        const std::string_view name = known_fields[index].name;
        if (known_fields[index].kind == value_kind::string) {
            if (!value->is_string()) {
                return reject(schema_error::wrong_type, name,
                              field_text(name) + " must be a string, not " +
                                  std::string(type_phrase(*value)));
            }
            continue;
        }
        auto number = read_integer(*value, mode);
        if (!number) {
            return reject(schema_error::wrong_type, name, field_text(name) + " " + number.error());
        }
        integers[index] = *number;
    }
    for (const auto& [key, value] : fields.custom) {
        if (!value->is_string()) {
            return reject(
                schema_error::wrong_type, key,
                field_text(key) + " must be a string, not " + std::string(type_phrase(*value)));
        }
    }

    // The values of the required fields.
    const std::string_view name = fields.string_or_empty(event_field);
    const std::string_view email = fields.string_or_empty(email_field);
    if (name.empty()) {
        return reject(schema_error::invalid_value, "event", "field 'event' must not be empty");
    }
    if (email.empty()) {
        return reject(schema_error::invalid_value, "email", "field 'email' must not be empty");
    }

    // The event name: known, or accepted and flagged in lenient mode only.
    const std::optional<event_type> known_type = event_type_from_name(name);
    if (!known_type && mode == schema_mode::strict) {
        return reject(schema_error::unknown_event, "event",
                      "event " + detail::quote(name) + " is not a known event name (strict mode)");
    }

    // The timestamp: never negative; milliseconds are brought back to seconds.
    std::optional<std::int64_t> timestamp = integers[timestamp_field];
    if (timestamp && *timestamp < 0) {
        return reject(schema_error::invalid_value, "timestamp",
                      "field 'timestamp' must not be negative");
    }
    if (timestamp && *timestamp > millisecond_threshold) *timestamp /= 1000;

    // The checks that depend on the event name.
    if (const auto eventid = integers[eventid_field]; eventid && known_type) {
        if (event_type_from_id(*eventid) != known_type) {
            return reject(schema_error::eventid_mismatch, "eventid",
                          "field 'eventid' is " + std::to_string(*eventid) + " but event '" +
                              std::string(to_string(*known_type)) + "' has eventid " +
                              std::to_string(static_cast<int>(*known_type)));
        }
    }
    const std::string_view link = fields.string_or_empty(link_field);
    if (known_type == event_type::click && link.empty()) {
        return reject(schema_error::missing_field, "link",
                      "field 'link' is required on click events");
    }
    // NOTE: only a bounceType that is present on a bounce is checked in lenient mode: refusing
    // a real bounce for a missing or odd companion field would lose the event that matters
    // most (Tencent retries it, and it ends in the rejects file). Strict mode checks both ways.
    const std::string_view bounce_type = fields.string_or_empty(bounce_type_field);
    const bool strict = mode == schema_mode::strict;
    if (known_type == event_type::bounce) {
        if (fields[bounce_type_field] == nullptr && strict) {
            return reject(schema_error::missing_field, "bounceType",
                          "field 'bounceType' is required on bounce events (strict mode)");
        }
        if (fields[bounce_type_field] != nullptr &&
            std::find(bounce_types.begin(), bounce_types.end(), bounce_type) ==
                bounce_types.end()) {
            return reject(schema_error::invalid_value, "bounceType",
                          "field 'bounceType' must be hard_bounce, soft_bounce, hard or soft");
        }
    } else if (known_type && !bounce_type.empty() && strict) {
        return reject(
            schema_error::invalid_value, "bounceType",
            "field 'bounceType' must be empty on " + std::string(name) + " events (strict mode)");
    }

    // Keep what seshook uses, and the identity.
    validated_event event;
    event.type = known_type.value_or(event_type::unknown);
    event.unknown_event = !known_type;
    event.event = name;
    event.email = email;
    event.bulk_id = fields.string_or_empty(bulk_id_field);
    event.reason = fields.string_or_empty(reason_field);
    event.bounce_type = bounce_type;
    event.link = link;
    event.username = fields.string_or_empty(username_field);
    event.timestamp = timestamp;
    event.raw = raw;
    const std::string timestamp_text = timestamp ? std::to_string(*timestamp) : std::string();
    event.id = make_event_id({event.bulk_id, event.email, event.event, timestamp_text, event.link});
    return event;
}

// Adds the batch position to a rejection of one element.
schema_rejection in_element(schema_rejection rejection, std::size_t index) {
    rejection.detail = "element " + std::to_string(index) + ": " + rejection.detail;
    rejection.index = index;
    return rejection;
}

boost::system::result<std::vector<validated_event>, schema_rejection> parse_body(
    std::string_view body, schema_mode mode, const schema_limits& limits) {
    // Read the JSON; the element texts are cut from the trimmed body, byte for byte.
    const std::string_view trimmed = detail::trim_json_whitespace(body);
    auto document = detail::read_json(trimmed, limits, &fold_event_key);
    if (!document) return document.error();
    const json& root = *document;

    // One event.
    std::vector<validated_event> events;
    if (root.is_object()) {
        auto event = validate_event(root, trimmed, mode);
        if (!event) return event.error();
        events.push_back(std::move(*event));
        return events;
    }

    // Anything else must be a batch of events.
    if (!root.is_array()) {
        return reject(schema_error::not_an_event, "",
                      "body must be a JSON object or an array of objects, not " +
                          std::string(type_phrase(root)));
    }
    const auto& elements = root.get_ref<const json::array_t&>();
    if (elements.empty()) return reject(schema_error::empty_batch, "", "body is an empty array");
    // NOTE: read_json already stopped at the first element past max_batch.
    const std::vector<std::string_view> texts = split_json_array(trimmed);
    if (texts.size() != elements.size()) {
        // Cannot happen on JSON that parsed; refuse rather than pair texts with wrong elements.
        return reject(schema_error::invalid_json, "", "body could not be split into elements");
    }
    events.reserve(elements.size());
    for (std::size_t index = 0; index < elements.size(); ++index) {
        if (!elements[index].is_object()) {
            return in_element(
                reject(schema_error::not_an_event, "",
                       "must be a JSON object, not " + std::string(type_phrase(elements[index]))),
                index);
        }
        auto event = validate_event(elements[index], texts[index], mode);
        if (!event) return in_element(event.error(), index);
        events.push_back(std::move(*event));
    }
    return events;
}

}  // namespace

boost::system::result<std::vector<validated_event>, schema_rejection> parse_callback(
    std::string_view body, schema_mode mode, const schema_limits& limits) {
    // NOTE: nothing may escape: a rejected body is an answer, and memory exhaustion on a
    // hostile body must not end the daemon.
    try {
        return parse_body(body, mode, limits);
    } catch (const std::exception&) {
        return reject(schema_error::invalid_json, "", "body could not be read");
    }
}

void throw_exception_from_error(const schema_rejection& rejection,
                                const boost::source_location& /*location*/) {
    throw std::runtime_error(rejection.detail);
}

}  // namespace seshook
