#pragma once

#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "seshook/config/config_error.hpp"

namespace seshook {

/// Reads the keys of one TOML table with type checks, remembering which keys were read so that
/// finish() can refuse the ones nobody knows. Every error is a config_error naming the file and
/// the full key, e.g. "seshook.toml: sinks[1].max_bytes: expected an integer".
class table_reader {
public:
    /// Reads `table`, whose keys are reported as `prefix.key` ("server.listen", "sinks[0].path").
    table_reader(const toml::table& table, std::string source, std::string prefix);

    std::optional<std::string> optional_string(std::string_view key);
    std::string required_string(std::string_view key);
    std::string string_or(std::string_view key, std::string fallback);

    /// An integer within [min, max].
    std::int64_t integer_or(std::string_view key, std::int64_t fallback, std::int64_t min,
                            std::int64_t max);

    bool boolean_or(std::string_view key, bool fallback);

    /// A duration written as a string with a unit ("10s", "250ms", "5m", "24h"), above zero.
    std::chrono::milliseconds duration_or(std::string_view key, std::chrono::milliseconds fallback);

    /// One of the listed words.
    std::string choice_or(std::string_view key, std::string fallback,
                          const std::vector<std::string>& allowed);

    /// An array of strings.
    std::vector<std::string> string_list_or(std::string_view key,
                                            std::vector<std::string> fallback);

    /// A string or an array of strings; a string gives a list of one.
    std::vector<std::string> strings_or(std::string_view key, std::vector<std::string> fallback);

    /// An inline table (or table) of string values, e.g. headers = { Authorization = "…" }.
    std::map<std::string, std::string> string_map_or(std::string_view key,
                                                     std::map<std::string, std::string> fallback);

    /// A nested table, or nothing when absent; marks the key as read.
    const toml::table* optional_table(std::string_view key);

    /// Throws for the first key of the table that no read asked for.
    void finish() const;

    /// Returns a config_error for `key` with the given message ("file: prefix.key: message").
    config_error error(std::string_view key, std::string_view message) const;

    /// Returns the full name of `key` as shown in errors ("sinks[0].path").
    std::string full_key(std::string_view key) const;

    const std::string& source() const noexcept { return source_; }

private:
    const toml::node* find(std::string_view key);

    const toml::table& table_;
    std::string source_;
    std::string prefix_;
    std::set<std::string, std::less<>> used_;
};

}  // namespace seshook
