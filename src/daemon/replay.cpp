#include "seshook/daemon/replay.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <stop_token>
#include <utility>
#include <vector>

#include "http/body_decoding.hpp"
#include "seshook/event/record.hpp"
#include "seshook/event/schema.hpp"
#include "seshook/sinks/sink_registry.hpp"
#include "seshook/support/base64.hpp"

namespace seshook {
namespace {

using json = nlohmann::json;

// Why one line of the input gives no record; caught for each line by replay_events.
class invalid_line : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// --- Finding the exact text of a member -------------------------------------------------------
// NOTE: these scans assume valid JSON; every line is parsed by nlohmann first. They exist
// because a parsed value cannot give back its bytes (key order, number spelling, escapes),
// and a replayed payload must keep them.

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::size_t skip_space(std::string_view text, std::size_t i) {
    while (i < text.size() && is_json_space(text[i])) ++i;
    return i;
}

// Returns the offset just past the string that opens at `i`.
std::size_t end_of_string(std::string_view text, std::size_t i) {
    for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;
    }
    return i + 1;
}

// Returns the offset just past the value that begins at `i`.
std::size_t end_of_value(std::string_view text, std::size_t i) {
    if (i >= text.size()) return i;
    if (text[i] == '"') return end_of_string(text, i);
    if (text[i] != '{' && text[i] != '[') {
        while (i < text.size() && text[i] != ',' && text[i] != '}' && text[i] != ']' &&
               !is_json_space(text[i])) {
            ++i;
        }
        return i;
    }
    std::size_t depth = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (c == '"') {
            i = end_of_string(text, i);
            continue;
        }
        ++i;
        if (c == '{' || c == '[') ++depth;
        if ((c == '}' || c == ']') && --depth == 0) break;
    }
    return i;
}

// Compares the text between the quotes of a key with `key`, decoding escapes when there are.
bool key_is(std::string_view quoted_inside, std::string_view key) {
    if (quoted_inside.find('\\') == std::string_view::npos) return quoted_inside == key;
    return json::parse("\"" + std::string(quoted_inside) + "\"").get<std::string>() == key;
}

// Returns the exact text of the member `key` of the JSON object `object`, or nothing. Like
// nlohmann, the last of duplicate keys wins.
std::optional<std::string_view> member_text(std::string_view object, std::string_view key) {
    std::optional<std::string_view> found;
    std::size_t i = skip_space(object, 0);
    if (i >= object.size() || object[i] != '{') return found;
    i = skip_space(object, i + 1);
    while (i < object.size() && object[i] == '"') {
        const std::size_t key_end = end_of_string(object, i);
        const auto name = object.substr(i + 1, key_end - i - 2);
        const std::size_t value = skip_space(object, skip_space(object, key_end) + 1);
        const std::size_t value_end = end_of_value(object, value);
        if (key_is(name, key)) found = object.substr(value, value_end - value);
        i = skip_space(object, value_end);
        if (i < object.size() && object[i] == ',') i = skip_space(object, i + 1);
    }
    return found;
}

// --- Reading each kind of line ----------------------------------------------------------------

const std::string& string_member(const json& line, const char* key, std::string_view kind) {
    const auto found = line.find(key);
    if (found == line.end() || !found->is_string()) {
        throw invalid_line(fmt::format("{} without a string \"{}\"", kind, key));
    }
    return found->get_ref<const std::string&>();
}

// Decodes standard base64 (with padding); throws invalid_line when it is not.
std::string body_of_base64(std::string_view text) {
    auto bytes = decode_base64(text);
    if (!bytes) throw invalid_line("bodyBase64 is not valid base64");
    return std::move(*bytes);
}

// A records line (the file sink's): its payload's exact bytes, receivedAt and peer.
record_ptr record_of(std::string_view text, const json& line, std::string_view kind) {
    const auto payload = line.find("payload");
    if (payload == line.end() || !payload->is_object()) {
        throw invalid_line(fmt::format("{} without an object \"payload\"", kind));
    }
    std::string received_at = string_member(line, "receivedAt", kind);
    std::string peer = string_member(line, "peer", kind);
    try {
        return rebuild_record(*member_text(text, "payload"), std::move(received_at),
                              std::move(peer));
    } catch (const std::invalid_argument& e) {
        throw invalid_line(fmt::format("{} with an invalid payload: {}", kind, e.what()));
    }
}

// A dead-letter line of a forward sink: the record inside it.
record_ptr dead_letter_of(std::string_view text, const json& line) {
    const auto inner = line.find("record");
    if (!inner->is_object()) throw invalid_line("dead-letter line whose \"record\" is no object");
    return record_of(*member_text(text, "record"), *inner, "dead-letter record");
}

// A rejects line: its body validated again, each event received now from the same peer.
std::vector<record_ptr> rejected_records(const json& line, const config& cfg) {
    std::string body;
    if (const auto text = line.find("body"); text != line.end() && text->is_string()) {
        body = text->get<std::string>();
    } else {
        body = body_of_base64(string_member(line, "bodyBase64", "rejects line"));
    }
    const std::string& peer = string_member(line, "peer", "rejects line");
    const auto still_refused = [&line](std::string_view code, std::string_view detail) {
        const auto was = line.find("reason");
        return invalid_line(fmt::format(
            "body still refused (first refused as {}): {}: {}",
            was != line.end() && was->is_string() ? was->get<std::string>() : "?", code, detail));
    };

    // A body kept as it came under a Content-Encoding is decoded as the daemon would, under the
    // body limit of this config.
    if (const auto coding = line.find("contentEncoding");
        coding != line.end() && coding->is_string()) {
        const auto failure =
            decode_body(coding->get_ref<const std::string&>(), body, cfg.server.max_body_bytes);
        if (failure) throw still_refused(to_string(failure->error), failure->detail);
    }

    auto events = parse_callback(body, cfg.schema.mode, cfg.schema.limits);
    if (!events) throw still_refused(to_string(events.error().error), events.error().detail);
    const auto now = std::chrono::system_clock::now();
    std::vector<record_ptr> records;
    records.reserve(events->size());
    for (auto& event : *events) records.push_back(make_record(std::move(event), peer, now));
    return records;
}

// Tells the kind of the line by its keys and builds its records; throws invalid_line.
std::vector<record_ptr> records_of_line(std::string_view text, const config& cfg) {
    const json line = json::parse(text, nullptr, false);
    if (line.is_discarded()) throw invalid_line("not valid JSON");
    if (!line.is_object()) throw invalid_line("not a JSON object");

    if (line.contains("record")) return {dead_letter_of(text, line)};
    if (line.contains("payload")) return {record_of(text, line, "records line")};
    if (line.contains("body") || line.contains("bodyBase64")) {
        return rejected_records(line, cfg);
    }
    throw invalid_line(
        "neither a record, a rejects line nor a dead-letter line (no \"payload\", \"body\", "
        "\"bodyBase64\" or \"record\")");
}

bool is_blank(std::string_view line) { return skip_space(line, 0) == line.size(); }

// --- The replay ---------------------------------------------------------------------------------

// Builds the configured sinks and keeps the one named `name`; throws replay_error.
std::unique_ptr<sink> take_sink(const config& cfg, std::string_view name) {
    auto sinks = make_sinks(cfg);
    std::string names;
    for (auto& candidate : sinks) {
        if (candidate->name() == name) return std::move(candidate);
        names += names.empty() ? "" : ", ";
        names += candidate->name();
    }
    throw replay_error(
        fmt::format("replay: no sink named \"{}\" in {}; the configured sinks are: {}", name,
                    cfg.source, names.empty() ? "(none)" : names));
}

// Hands one record to the sink, honouring its filter, and counts the outcome.
void replay_record(sink& target, const record& r, replay_summary& summary, const std::string& where,
                   std::ostream& err) {
    if (!target.wants(r)) {
        ++summary.skipped;
        return;
    }
    switch (target.consume(r, std::stop_token{})) {
        case delivery_outcome::delivered:
            ++summary.replayed;
            break;
        case delivery_outcome::dead_lettered:
            ++summary.dead_lettered;
            err << where << "event " << r.event.id << " dead-lettered by sink '" << target.name()
                << "'\n";
            break;
        case delivery_outcome::failed:
        case delivery_outcome::interrupted:  // replay never stops a sink; counted as failed
            ++summary.failed;
            err << where << "sink '" << target.name() << "' could not take event " << r.event.id
                << "\n";
            break;
    }
}

}  // namespace

int replay_summary::exit_code() const noexcept {
    return invalid_lines > 0 || failed > 0 || dead_lettered > 0 ? 1 : 0;
}

std::ostream& operator<<(std::ostream& out, const replay_summary& s) {
    return out << "seshook replay: read " << s.lines_read << ", replayed " << s.replayed
               << ", dead-lettered " << s.dead_lettered << ", failed " << s.failed
               << ", skipped by filter " << s.skipped << ", invalid " << s.invalid_lines;
}

replay_summary replay_events(const config& cfg, std::string_view sink_name,
                             const std::filesystem::path& input, std::ostream& out,
                             std::ostream& err) {
    // Find the sink and open the input, then the sink, so that nothing is half done.
    auto target = take_sink(cfg, sink_name);
    std::ifstream in(input, std::ios::binary);
    if (!in) {
        throw replay_error(
            fmt::format("replay: cannot open {}: {}", input.string(), std::strerror(errno)));
    }
    try {
        target->open();
    } catch (const std::exception& e) {
        throw replay_error(fmt::format("replay: cannot open {}", e.what()));
    }

    // NOTE: only what the input holds now is replayed. The input may be the sink's own output
    // (its dead-letter file, its records file); what the sink appends to it meanwhile would
    // otherwise be read back and replayed again without end.
    std::error_code size_error;
    const auto size_at_start = std::filesystem::file_size(input, size_error);
    const std::uint64_t end_at = size_error ? 0 : size_at_start;

    // Replay line by line; a bad line is reported and the next one is read.
    replay_summary summary;
    std::uint64_t number = 0;
    for (std::string line;
         static_cast<std::uint64_t>(in.tellg()) < end_at && std::getline(in, line);) {
        ++number;
        if (is_blank(line)) continue;
        ++summary.lines_read;
        const std::string where = fmt::format("seshook replay: {}:{}: ", input.string(), number);
        std::vector<record_ptr> records;
        try {
            records = records_of_line(line, cfg);
        } catch (const invalid_line& e) {
            ++summary.invalid_lines;
            err << where << e.what() << '\n';
            continue;
        }
        for (const auto& r : records) replay_record(*target, *r, summary, where, err);
    }
    if (in.bad()) {
        ++summary.invalid_lines;
        err << "seshook replay: " << input.string() << ": read error after line " << number << ": "
            << std::strerror(errno) << '\n';
    }

    // Close the sink (flushing it) before telling the counts.
    target->close();
    out << summary << '\n';
    return summary;
}

}  // namespace seshook
