#include "seshook/config/table_reader.hpp"

#include <limits>
#include <utility>

#include "seshook/support/duration.hpp"

namespace seshook {
namespace {

// Longer durations serve no purpose here, and much longer ones overflow the clocks' nanosecond
// counts, turning a long timeout into an immediate one.
constexpr std::chrono::milliseconds max_duration = std::chrono::hours(24 * 7);

// Names the TOML type of a node with its article, for "expected X, got Y" messages.
std::string_view type_name(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a floating-point number";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::date:
            return "a date";
        case toml::node_type::time:
            return "a time";
        case toml::node_type::date_time:
            return "a date-time";
        case toml::node_type::none:
            break;
    }
    return "nothing";
}

// Returns true when `key` can be written bare in TOML (letters, digits, '-' and '_').
bool is_bare_key(std::string_view key) {
    if (key.empty()) return false;
    for (const char c : key) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok) return false;
    }
    return true;
}

// Writes `key` as TOML would, quoting it when it is not bare, so that "a.b" stays one key.
std::string display_key(std::string_view key) {
    if (is_bare_key(key)) return std::string(key);
    std::string quoted = "\"";
    for (const char c : key) {
        if (c == '"' || c == '\\') quoted += '\\';
        quoted += c;
    }
    quoted += '"';
    return quoted;
}

std::string expected(std::string_view what, const toml::node& node) {
    std::string message = "expected ";
    message += what;
    message += ", got ";
    message += type_name(node);
    return message;
}

// Orders source positions, so that finish() names the first unknown key of the file.
bool before(const toml::source_position& a, const toml::source_position& b) {
    if (a.line != b.line) return a.line < b.line;
    return a.column < b.column;
}

}  // namespace

table_reader::table_reader(const toml::table& table, std::string source, std::string prefix)
    : table_(table), source_(std::move(source)), prefix_(std::move(prefix)) {}

const toml::node* table_reader::find(std::string_view key) {
    const toml::node* node = table_.get(key);
    if (node != nullptr) used_.emplace(key);
    return node;
}

std::optional<std::string> table_reader::optional_string(std::string_view key) {
    const toml::node* node = find(key);
    if (node == nullptr) return std::nullopt;
    const auto* text = node->as_string();
    if (text == nullptr) throw error(key, expected("a string", *node));
    return text->get();
}

std::string table_reader::required_string(std::string_view key) {
    auto text = optional_string(key);
    if (!text) throw error(key, "is required");
    return std::move(*text);
}

std::string table_reader::string_or(std::string_view key, std::string fallback) {
    auto text = optional_string(key);
    return text ? std::move(*text) : std::move(fallback);
}

std::int64_t table_reader::integer_or(std::string_view key, std::int64_t fallback, std::int64_t min,
                                      std::int64_t max) {
    const toml::node* node = find(key);
    if (node == nullptr) return fallback;
    const auto* number = node->as_integer();
    if (number == nullptr) throw error(key, expected("an integer", *node));

    // Say the range in the words that fit it: an upper bound of "the largest integer" is noise.
    const std::int64_t value = number->get();
    if (value < min || value > max) {
        if (max == std::numeric_limits<std::int64_t>::max()) {
            throw error(
                key, "must be at least " + std::to_string(min) + ", got " + std::to_string(value));
        }
        throw error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                             ", got " + std::to_string(value));
    }
    return value;
}

bool table_reader::boolean_or(std::string_view key, bool fallback) {
    const toml::node* node = find(key);
    if (node == nullptr) return fallback;
    const auto* flag = node->as_boolean();
    if (flag == nullptr) throw error(key, expected("a boolean (true or false)", *node));
    return flag->get();
}

std::chrono::milliseconds table_reader::duration_or(std::string_view key,
                                                    std::chrono::milliseconds fallback) {
    const toml::node* node = find(key);
    if (node == nullptr) return fallback;
    const auto* text = node->as_string();
    if (text == nullptr) {
        throw error(key, expected("a duration as a string such as \"10s\"", *node));
    }
    const auto duration = parse_duration(text->get());
    if (!duration) {
        throw error(key,
                    "expected a number with a unit (ms, s, m or h) such as \"250ms\" or "
                    "\"10s\", got \"" +
                        text->get() + "\"");
    }
    if (duration->count() <= 0) throw error(key, "must be longer than zero");
    if (*duration > max_duration) {
        throw error(key, "must be at most 7 days (\"168h\"), got \"" + text->get() + "\"");
    }
    return *duration;
}

std::string table_reader::choice_or(std::string_view key, std::string fallback,
                                    const std::vector<std::string>& allowed) {
    auto text = optional_string(key);
    if (!text) return fallback;
    for (const auto& word : allowed) {
        if (word == *text) return std::move(*text);
    }
    std::string message = "must be one of ";
    for (std::size_t i = 0; i < allowed.size(); ++i) {
        if (i > 0) message += ", ";
        message += '"' + allowed[i] + '"';
    }
    message += "; got \"" + *text + '"';
    throw error(key, message);
}

std::vector<std::string> table_reader::string_list_or(std::string_view key,
                                                      std::vector<std::string> fallback) {
    const toml::node* node = find(key);
    if (node == nullptr) return fallback;
    const auto* array = node->as_array();
    if (array == nullptr) throw error(key, expected("an array of strings", *node));

    std::vector<std::string> list;
    list.reserve(array->size());
    for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::node& element = *array->get(i);
        const auto* text = element.as_string();
        if (text == nullptr) {
            throw config_error(source_ + ": " + full_key(key) + "[" + std::to_string(i) +
                               "]: " + expected("a string", element));
        }
        list.push_back(text->get());
    }
    return list;
}

std::vector<std::string> table_reader::strings_or(std::string_view key,
                                                  std::vector<std::string> fallback) {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return fallback;
    if (const auto* text = node->as_string()) {
        used_.emplace(key);
        return {text->get()};
    }
    if (!node->is_array()) throw error(key, expected("a string or an array of strings", *node));
    return string_list_or(key, std::move(fallback));
}

std::map<std::string, std::string> table_reader::string_map_or(
    std::string_view key, std::map<std::string, std::string> fallback) {
    const toml::table* table = optional_table(key);
    if (table == nullptr) return fallback;

    std::map<std::string, std::string> map;
    for (const auto& [name, value] : *table) {
        const auto* text = value.as_string();
        if (text == nullptr) {
            throw config_error(source_ + ": " + full_key(key) + "." + display_key(name.str()) +
                               ": " + expected("a string", value));
        }
        map.emplace(std::string(name.str()), text->get());
    }
    return map;
}

const toml::table* table_reader::optional_table(std::string_view key) {
    const toml::node* node = find(key);
    if (node == nullptr) return nullptr;
    const auto* table = node->as_table();
    if (table == nullptr) throw error(key, expected("a table", *node));
    return table;
}

void table_reader::finish() const {
    // NOTE: toml::table iterates in key order, not file order; the first unknown key in the
    // file is the one a reader expects to be told about.
    const toml::key* first = nullptr;
    for (const auto& [key, value] : table_) {
        if (used_.contains(key.str())) continue;
        if (first == nullptr || before(key.source().begin, first->source().begin)) first = &key;
    }
    if (first != nullptr) throw error(first->str(), "unknown key");
}

config_error table_reader::error(std::string_view key, std::string_view message) const {
    std::string text = source_;
    text += ": ";
    text += full_key(key);
    text += ": ";
    text += message;
    return config_error(text);
}

std::string table_reader::full_key(std::string_view key) const {
    if (prefix_.empty()) return display_key(key);
    return prefix_ + "." + display_key(key);
}

}  // namespace seshook
