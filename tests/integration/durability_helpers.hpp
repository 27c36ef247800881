#pragma once

// Shared pieces of the end-to-end tests of the spool and of deduplication: config tables, and
// counting what reached the file sink and the forward receiver, by event id.

#include <cstddef>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "integration/integration_helpers.hpp"
#include "support/temp_dir.hpp"
#include "support/tiny_http_receiver.hpp"

namespace seshook::testing {

/// Returns the [spool] and [dedup] tables: the spool in `{dir}/spool.db` with `durability`.
inline std::string spool_tables(std::string_view durability, bool dedup_enabled = true) {
    return "[spool]\ndurability = \"" + std::string(durability) +
           "\"\npath = \"{dir}/spool.db\"\n\n[dedup]\nenabled = " +
           (dedup_enabled ? "true" : "false") + "\nwindow = \"24h\"\n";
}

/// Returns a file sink "events" writing `{dir}/events.jsonl`, rotated at `max_bytes`.
inline std::string rotating_file_sink(std::size_t max_bytes, std::size_t max_files) {
    return "[[sinks]]\ntype = \"file\"\nname = \"events\"\npath = \"{dir}/events.jsonl\"\n"
           "max_bytes = " +
           std::to_string(max_bytes) + "\nmax_files = " + std::to_string(max_files) + "\n\n";
}

/// Returns a forward sink "downstream" to `url` that retries quickly and for long, so that a
/// downstream that is away for a few seconds loses nothing to the dead-letter file.
inline std::string patient_forward_sink(const std::string& url) {
    return "[[sinks]]\ntype = \"forward\"\nname = \"downstream\"\nurl = \"" + url +
           "\"\ntimeout = \"2s\"\nmax_attempts = 100\nbackoff_initial = \"20ms\"\n"
           "backoff_max = \"100ms\"\ndead_letter_path = \"{dir}/dead-letter.jsonl\"\n\n";
}

/// Records of a JSON Lines sink file and its rotated copies, and the lines that were not JSON.
struct sink_file_contents {
    std::vector<nlohmann::json> records;
    std::vector<std::string> bad_lines;  // where and what, e.g. "events.jsonl.2:17 (40 bytes): ..."
};

/// Reads `path` and every rotated copy of it (`path.1`, `path.2`, ...) in the same folder. A
/// line that is not JSON, or a last line without its newline, is kept as bad: the file sink
/// promises whole lines only, even across a kill.
inline sink_file_contents read_sink_files(const std::filesystem::path& path) {
    sink_file_contents contents;
    const std::string base = path.filename().string();
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(path.parent_path(), ec)) {
        const std::string name = entry.path().filename().string();
        const bool rotated = name.size() > base.size() + 1 &&
                             name.compare(0, base.size(), base) == 0 && name[base.size()] == '.' &&
                             name.find_first_not_of("0123456789", base.size() + 1) == name.npos;
        if (name != base && !rotated) continue;
        const std::string text = read_file(entry.path());
        std::size_t start = 0;
        for (std::size_t number = 1; start < text.size(); ++number) {
            auto end = text.find('\n', start);
            const bool complete = end != std::string::npos;
            if (!complete) end = text.size();
            const std::string_view line(text.data() + start, end - start);
            start = end + 1;
            if (line.empty()) continue;
            auto parsed = nlohmann::json::parse(line, nullptr, false);
            if (!complete || parsed.is_discarded() || !parsed.is_object()) {
                contents.bad_lines.push_back(
                    name + ":" + std::to_string(number) + " (" + std::to_string(line.size()) +
                    " bytes" + (complete ? "" : ", no newline at the end of the file") +
                    "): " + std::string(line.substr(0, 300)));
            } else {
                contents.records.push_back(std::move(parsed));
            }
        }
    }
    return contents;
}

/// Times each event id was seen.
using id_counts = std::map<std::string, std::size_t>;

/// Counts the records by their "id".
inline id_counts count_record_ids(const std::vector<nlohmann::json>& records) {
    id_counts counts;
    for (const auto& record : records) ++counts[record.value("id", std::string())];
    return counts;
}

/// Counts the requests a forward receiver got by their X-Seshook-Id header.
inline id_counts count_request_ids(const std::vector<received_request>& requests) {
    id_counts counts;
    for (const auto& request : requests) ++counts[request.header("X-Seshook-Id")];
    return counts;
}

/// Returns how many copies beyond the first the counts hold.
inline std::size_t extra_copies(const id_counts& counts) {
    std::size_t extra = 0;
    for (const auto& [id, count] : counts) extra += count - 1;
    return extra;
}

/// Returns how many of `ids` the counts hold at least once.
inline std::size_t found_count(const std::vector<std::string>& ids, const id_counts& counts) {
    std::size_t found = 0;
    for (const auto& id : ids) found += counts.count(id);
    return found;
}

}  // namespace seshook::testing
