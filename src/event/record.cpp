#include "seshook/event/record.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>

#include "seshook/event/json_text.hpp"
#include "seshook/support/time_format.hpp"

namespace seshook {
namespace {

// Writes `text` as a JSON string. Invalid UTF-8 cannot come from the schema, which refuses
// it, but a peer text is ours to build, so it is replaced rather than allowed to throw.
std::string json_string(const std::string& text) {
    return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string record::to_json_line() const {
    // NOTE: the payload is spliced in as text, not re-serialised, so that its keys keep their
    // order and its strings and numbers their exact bytes; raw is valid JSON by construction.
    const std::string payload = compact_json(event.raw);
    std::string line;
    line.reserve(payload.size() + event.id.size() + received_at.size() + peer.size() + 80);
    line += "{\"id\":";
    line += json_string(event.id);
    line += ",\"receivedAt\":";
    line += json_string(received_at);
    line += ",\"peer\":";
    line += json_string(peer);
    line += ",\"payload\":";
    line += payload;
    if (event.unknown_event) line += ",\"unknownEvent\":true";
    line += '}';
    return line;
}

record_ptr make_record(validated_event event, std::string peer,
                       std::chrono::system_clock::time_point received_at) {
    return std::make_shared<const record>(
        record{std::move(event), format_rfc3339_ms(received_at), std::move(peer)});
}

record_ptr rebuild_record(std::string_view raw, std::string received_at, std::string peer) {
    const auto first = raw.find_first_not_of(" \t\r\n");
    if (first != std::string_view::npos && raw[first] == '[') {
        throw std::invalid_argument("expected one event object, got an array");
    }
    auto parsed = parse_callback(raw, schema_mode::lenient);
    if (!parsed) throw std::invalid_argument(parsed.error().detail);
    return std::make_shared<const record>(
        record{std::move(parsed->front()), std::move(received_at), std::move(peer)});
}

}  // namespace seshook
