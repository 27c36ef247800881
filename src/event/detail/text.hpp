#pragma once

#include <cstddef>
#include <string>
#include <string_view>

// Small text helpers shared by the event sources.
namespace seshook::detail {

/// Returns true when the two texts are equal once ASCII letters are folded to lowercase.
inline bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

/// Returns true when `text` begins with `prefix`, ASCII letters compared without case.
inline bool istarts_with(std::string_view text, std::string_view prefix) noexcept {
    return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

/// Returns `text` with its ASCII letters in lowercase.
inline std::string ascii_lowercase(std::string_view text) {
    std::string lowered(text);
    for (char& c : lowered) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return lowered;
}

/// Returns payload text fit for a rejection detail: in single quotes, cut after 64 bytes (on a
/// UTF-8 boundary) and with control characters written as \xNN, so that a hostile key can
/// neither bloat the detail nor break a log line.
inline std::string quote(std::string_view text) {
    constexpr std::size_t max_bytes = 64;
    constexpr std::string_view hex = "0123456789abcdef";
    std::size_t kept = text.size();
    if (kept > max_bytes) {
        kept = max_bytes;
        while (kept > 0 && (static_cast<unsigned char>(text[kept]) & 0xc0) == 0x80) --kept;
    }
    std::string quoted = "'";
    for (const char c : text.substr(0, kept)) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            quoted += "\\x";
            quoted += hex[byte >> 4];
            quoted += hex[byte & 0x0f];
        } else {
            quoted += c;
        }
    }
    if (kept < text.size()) quoted += "...";
    quoted += '\'';
    return quoted;
}

}  // namespace seshook::detail
