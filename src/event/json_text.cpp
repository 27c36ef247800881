#include "seshook/event/json_text.hpp"

#include "event/detail/json_scan.hpp"

namespace seshook {
namespace {

constexpr bool is_json_whitespace(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

constexpr bool is_continuation(unsigned char byte) noexcept { return (byte & 0xc0) == 0x80; }

// Walks JSON text one byte at a time and knows whether the byte just read was inside a string.
// NOTE: it relies on escapes only ever appearing inside strings, which holds for valid JSON and
// keeps the scan safe (never out of bounds) on invalid JSON.
class string_tracker {
  public:
    /// Consumes `c` and returns true when it belongs to a string (its quotes included).
    bool in_string_after(char c) noexcept {
        if (escaped_) {
            escaped_ = false;
            return true;
        }
        if (in_string_) {
            if (c == '\\') {
                escaped_ = true;
            } else if (c == '"') {
                in_string_ = false;
            }
            return true;
        }
        if (c == '"') {
            in_string_ = true;
            return true;
        }
        return false;
    }

  private:
    bool in_string_ = false;
    bool escaped_ = false;
};

}  // namespace

std::string compact_json(std::string_view json) {
    std::string compact;
    compact.reserve(json.size());
    string_tracker tracker;
    for (const char c : json) {
        if (tracker.in_string_after(c) || !is_json_whitespace(c)) compact.push_back(c);
    }
    return compact;
}

std::vector<std::string_view> split_json_array(std::string_view json) {
    std::vector<std::string_view> elements;
    const std::string_view array = detail::trim_json_whitespace(json);
    if (array.size() < 2 || array.front() != '[') return elements;

    // Cut the text between the brackets at every comma that is outside strings and nested
    // values; the closing bracket of the array ends the last element.
    string_tracker tracker;
    std::size_t depth = 0;
    std::size_t start = 1;
    for (std::size_t i = 1; i < array.size(); ++i) {
        const char c = array[i];
        if (tracker.in_string_after(c)) continue;
        if (c == '[' || c == '{') {
            ++depth;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        } else if (depth == 0 && (c == ',' || c == ']')) {
            const std::string_view element =
                detail::trim_json_whitespace(array.substr(start, i - start));
            // An empty array has one empty "element" before its closing bracket.
            if (!element.empty()) elements.push_back(element);
            start = i + 1;
            if (c == ']') break;
        }
    }
    return elements;
}

bool is_valid_utf8(std::string_view text) noexcept {
    return !detail::find_invalid_utf8(text).has_value();
}

namespace detail {

std::optional<std::size_t> find_invalid_utf8(std::string_view text) noexcept {
    const auto byte_at = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    std::size_t i = 0;
    while (i < text.size()) {
        const unsigned char lead = byte_at(i);
        if (lead < 0x80) {
            ++i;
            continue;
        }

        // The lead byte fixes the length and the range of the second byte; the ranges exclude
        // overlong forms (C0, C1, E0 80-9F, F0 80-8F), surrogates (ED A0-BF) and code points
        // past U+10FFFF (F4 90-BF, F5-FF).
        std::size_t length = 0;
        unsigned char low = 0x80;
        unsigned char high = 0xbf;
        if (lead >= 0xc2 && lead <= 0xdf) {
            length = 2;
        } else if (lead >= 0xe0 && lead <= 0xef) {
            length = 3;
            if (lead == 0xe0) low = 0xa0;
            if (lead == 0xed) high = 0x9f;
        } else if (lead >= 0xf0 && lead <= 0xf4) {
            length = 4;
            if (lead == 0xf0) low = 0x90;
            if (lead == 0xf4) high = 0x8f;
        } else {
            return i;
        }
        if (text.size() - i < length) return i;
        if (byte_at(i + 1) < low || byte_at(i + 1) > high) return i;
        for (std::size_t k = 2; k < length; ++k) {
            if (!is_continuation(byte_at(i + k))) return i;
        }
        i += length;
    }
    return std::nullopt;
}

bool nests_deeper_than(std::string_view json, std::size_t max_depth) noexcept {
    string_tracker tracker;
    std::size_t depth = 0;
    for (const char c : json) {
        if (tracker.in_string_after(c)) continue;
        if (c == '[' || c == '{') {
            if (++depth > max_depth) return true;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return false;
}

std::string_view trim_json_whitespace(std::string_view text) noexcept {
    while (!text.empty() && is_json_whitespace(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_json_whitespace(text.back())) text.remove_suffix(1);
    return text;
}

}  // namespace detail
}  // namespace seshook
