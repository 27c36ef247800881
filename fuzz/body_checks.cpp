#include "body_checks.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "seshook/event/json_text.hpp"
#include "seshook/event/record.hpp"
#include "seshook/event/schema.hpp"

namespace seshook::fuzz {
namespace {

using json = nlohmann::json;
using parse_result = boost::system::result<std::vector<validated_event>, schema_rejection>;

constexpr std::string_view peer = "203.0.113.7";

// A fixed reception time, so that two records of one event are comparable byte for byte.
const std::chrono::system_clock::time_point received_at{
    std::chrono::milliseconds(1'780'000'000'123)};

// True when the JSON object has `key` and it is the string `text`.
bool holds_string(const json& object, const char* key, std::string_view text) {
    const auto found = object.find(key);
    return found != object.end() && found->is_string() && *found == text;
}

bool is_event_id(std::string_view id) {
    return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::vector<std::string> ids_of(const parse_result& parsed) {
    std::vector<std::string> ids;
    if (parsed) {
        for (const auto& event : *parsed) ids.push_back(event.id);
    }
    return ids;
}

// A rejection is answered as JSON and logged: its detail must be short, printable UTF-8.
void check_rejection(const schema_rejection& rejection) {
    const std::string& detail = rejection.detail;
    require(!detail.empty(), "a rejection has a detail");
    require(detail.size() <= 512, "a rejection's detail stays short");
    require(is_valid_utf8(detail), "a rejection's detail is valid UTF-8");
    for (const char c : detail) {
        const auto byte = static_cast<unsigned char>(c);
        require(byte >= 0x20 && byte != 0x7f, "a rejection's detail holds no control character");
    }
    require(to_string(rejection.error) != "unknown_error", "a rejection has a known error code");
}

// Checks one accepted event and the record, the JSON line and the rebuilt records made of it.
void check_event(const validated_event& event, std::string_view body) {
    require(is_event_id(event.id), "an event id is 32 lowercase hex digits");
    require(!event.event.empty() && !event.email.empty(), "an accepted event has event and email");
    require(!event.raw.empty() && body.find(event.raw) != std::string_view::npos,
            "an event's raw text is a part of the body, byte for byte");
    require(event.unknown_event == (event.type == event_type::unknown),
            "only an event of unknown type is flagged unknown");

    // The record and the line a file sink would write for it.
    const record_ptr made = make_record(event, std::string(peer), received_at);
    const std::string line = made->to_json_line();
    require(line.find('\n') == std::string::npos && line.find('\r') == std::string::npos,
            "a record's JSON line is one line");
    const json parsed = json::parse(line, nullptr, false);
    require(!parsed.is_discarded() && parsed.is_object(), "a record's JSON line is valid JSON");
    require(holds_string(parsed, "id", event.id), "a record's line holds the event id");
    require(holds_string(parsed, "peer", peer), "a record's line holds the peer");
    require(holds_string(parsed, "receivedAt", made->received_at),
            "a record's line holds the reception time");
    require(parsed.contains("unknownEvent") == event.unknown_event,
            "a record's line flags an unknown event, and only then");
    const json payload = json::parse(event.raw, nullptr, false);
    require(!payload.is_discarded() && parsed.contains("payload") && parsed["payload"] == payload,
            "a record's line holds the payload as received");

    // The spool keeps the raw bytes, a records file the compacted payload: both must give back
    // the same record, or an accepted event would be lost at the next start or replay.
    for (const std::string& kept : {event.raw, compact_json(event.raw)}) {
        record_ptr rebuilt;
        try {
            rebuilt = rebuild_record(kept, made->received_at, made->peer);
        } catch (const std::invalid_argument& e) {
            std::fprintf(stderr, "rebuild_record refused an accepted event: %s\n", e.what());
            require(false, "an accepted event's kept bytes rebuild a record");
        }
        require(rebuilt->event.id == event.id, "a rebuilt record has the event's id");
        require(rebuilt->to_json_line() == line, "a rebuilt record writes the same line");
    }
}

}  // namespace

void require(bool holds, const char* what) {
    if (holds) return;
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
}

void check_callback_body(std::string_view body) {
    const parse_result lenient = parse_callback(body, schema_mode::lenient);
    const parse_result strict = parse_callback(body, schema_mode::strict);
    if (!lenient) check_rejection(lenient.error());
    if (!strict) check_rejection(strict.error());

    // Strict mode only adds reasons to refuse; what both accept is the same events.
    if (strict) {
        require(lenient.has_value(), "a body strict mode accepts is accepted in lenient mode");
        require(ids_of(strict) == ids_of(lenient), "both modes give the same event ids");
    }
    if (!lenient) return;

    // Identical input gets identical ids, so that a repeated delivery is recognised.
    require(!lenient->empty(), "an accepted body holds at least one event");
    require(ids_of(parse_callback(body, schema_mode::lenient)) == ids_of(lenient),
            "identical input gets identical event ids");
    for (const validated_event& event : *lenient) check_event(event, body);
}

}  // namespace seshook::fuzz
