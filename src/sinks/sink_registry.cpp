#include "seshook/sinks/sink_registry.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <string_view>
#include <utility>

#include "seshook/sinks/file_sink.hpp"
#include "seshook/sinks/forward_sink.hpp"
#include "seshook/sinks/log_sink.hpp"

namespace seshook {
namespace {

constexpr std::int64_t mib = 1024 * 1024;

std::unique_ptr<sink> make_log_sink(const sink_config& common, table_reader&) {
    return std::make_unique<log_sink>(common.name, common.events);
}

std::unique_ptr<sink> make_file_sink(const sink_config& common, table_reader& reader) {
    rotating_file::options file;
    file.path = reader.required_string("path");
    if (file.path.empty()) throw reader.error("path", "must not be empty");
    file.max_bytes = static_cast<std::uint64_t>(
        reader.integer_or("max_bytes", 100 * mib, 0, std::numeric_limits<std::int64_t>::max()));
    file.max_files = static_cast<unsigned>(reader.integer_or("max_files", 10, 1, 1000));
    return std::make_unique<file_sink>(common.name, common.events, std::move(file));
}

// Returns true when `name` is an HTTP header name (an RFC 9110 token).
bool is_header_name(std::string_view name) {
    constexpr std::string_view punctuation = "!#$%&'*+-.^_`|~";
    if (name.empty()) return false;
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || punctuation.find(c) != std::string_view::npos;
        if (!ok) return false;
    }
    return true;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

// Checks the extra headers: well formed, and none that seshook sets itself or that would
// change the framing of the request.
void check_headers(const std::map<std::string, std::string>& headers, table_reader& reader) {
    constexpr std::array<std::string_view, 6> reserved{
        "Host",       "Content-Length", "Transfer-Encoding",
        "Connection", "X-Seshook-Id",   "X-Seshook-Event"};
    const std::string key = reader.full_key("headers");
    for (const auto& [name, value] : headers) {
        if (!is_header_name(name)) {
            throw config_error(reader.source() + ": " + key + ": \"" + name +
                               "\" is not a valid header name");
        }
        for (const auto word : reserved) {
            if (equals_ignoring_case(name, word)) {
                throw config_error(reader.source() + ": " + key + "." + name +
                                   ": is set by seshook and cannot be configured");
            }
        }
        for (const char c : value) {
            const auto byte = static_cast<unsigned char>(c);
            if ((byte < 0x20 && c != '\t') || byte == 0x7f) {
                throw config_error(reader.source() + ": " + key + "." + name +
                                   ": must not contain control characters such as line breaks");
            }
        }
    }
}

std::unique_ptr<sink> make_forward_sink(const sink_config& common, table_reader& reader) {
    forward_options options;

    // NOTE: the messages never repeat the URL or header values: they often hold credentials.
    options.url = reader.required_string("url");
    if (!http_url::parse(options.url)) {
        throw reader.error("url", "expected an absolute http:// or https:// URL");
    }
    options.headers = reader.string_map_or("headers", {});
    check_headers(options.headers, reader);

    // Timing of each attempt and of the retries.
    options.timeout = reader.duration_or("timeout", options.timeout);
    options.max_attempts =
        static_cast<unsigned>(reader.integer_or("max_attempts", options.max_attempts, 1, 100));
    options.backoff_initial = reader.duration_or("backoff_initial", options.backoff_initial);
    options.backoff_max = reader.duration_or("backoff_max", options.backoff_max);
    if (options.backoff_max < options.backoff_initial) {
        throw reader.error("backoff_max", "must not be shorter than backoff_initial");
    }

    // Where events that exhaust their attempts are kept; by default one file per sink.
    options.dead_letter_path =
        reader.string_or("dead_letter_path", "var/dead-letter-" + common.name + ".jsonl");
    if (options.dead_letter_path.empty()) {
        throw reader.error("dead_letter_path", "must not be empty");
    }
    options.verify_tls = reader.boolean_or("verify_tls", options.verify_tls);
    return std::make_unique<forward_sink>(common.name, common.events, std::move(options));
}

// NOTE: a new sink type is one file with its class plus one line here.
const std::map<std::string, sink_factory, std::less<>>& registry() {
    static const std::map<std::string, sink_factory, std::less<>> factories{
        {"log", make_log_sink},
        {"file", make_file_sink},
        {"forward", make_forward_sink},
    };
    return factories;
}

// Marks the keys that parse_config already read, so that finish() only judges the type's own.
void skip_common_keys(table_reader& reader) {
    constexpr std::int64_t any_min = std::numeric_limits<std::int64_t>::min();
    constexpr std::int64_t any_max = std::numeric_limits<std::int64_t>::max();
    reader.optional_string("type");
    reader.optional_string("name");
    reader.string_list_or("events", {});
    reader.integer_or("queue_capacity", 0, any_min, any_max);
}

std::string known_types_text() {
    std::string text;
    for (const auto& name : sink_type_names()) {
        if (!text.empty()) text += ", ";
        text += name;
    }
    return text;
}

}  // namespace

const sink_factory* find_sink_factory(std::string_view type) {
    const auto& factories = registry();
    const auto found = factories.find(type);
    return found == factories.end() ? nullptr : &found->second;
}

std::vector<std::string> sink_type_names() {
    std::vector<std::string> names;
    for (const auto& [name, factory] : registry()) names.push_back(name);
    return names;  // NOTE: sorted, since the registry is a std::map
}

std::vector<std::unique_ptr<sink>> make_sinks(const config& cfg) {
    static const toml::table no_options;
    std::vector<std::unique_ptr<sink>> sinks;
    sinks.reserve(cfg.sinks.size());
    for (const auto& common : cfg.sinks) {
        const toml::table& options = common.options ? *common.options : no_options;
        table_reader reader(options, cfg.source, "sinks[" + std::to_string(common.index) + "]");
        skip_common_keys(reader);

        const sink_factory* factory = find_sink_factory(common.type);
        if (factory == nullptr) {
            throw reader.error("type", "unknown sink type \"" + common.type +
                                           "\"; known types are " + known_types_text());
        }
        sinks.push_back((*factory)(common, reader));
        reader.finish();
    }
    return sinks;
}

}  // namespace seshook
