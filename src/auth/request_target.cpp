#include "seshook/auth/request_target.hpp"

#include <array>

namespace seshook {
namespace {

bool istarts_with(std::string_view text, std::string_view prefix) noexcept {
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        char c = text[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i]) return false;
    }
    return true;
}

}  // namespace

target_parts split_target(std::string_view target) noexcept {
    target_parts parts;

    // The absolute form: the scheme and authority come off first.
    for (const std::string_view scheme : std::array<std::string_view, 2>{"http://", "https://"}) {
        if (!istarts_with(target, scheme)) continue;
        const auto end = target.find_first_of("/?", scheme.size());
        parts.origin = target.substr(0, end);
        target = end == std::string_view::npos ? std::string_view() : target.substr(end);
        break;
    }

    // Then the path and the query.
    const auto question = target.find('?');
    parts.path = target.substr(0, question);
    if (question != std::string_view::npos) parts.query = target.substr(question + 1);
    if (parts.path.empty() && !parts.origin.empty()) parts.path = "/";
    return parts;
}

std::optional<std::string_view> query_value(std::string_view query,
                                            std::string_view name) noexcept {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        const auto equals = pair.find('=');
        if (pair.substr(0, equals) == name) {
            return equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
        }
        if (amp == std::string_view::npos) break;
        query = query.substr(amp + 1);
    }
    return std::nullopt;
}

std::optional<std::string_view> rest_after(std::string_view path, std::string_view base) noexcept {
    if (!path.starts_with(base)) return std::nullopt;
    std::string_view rest = path.substr(base.size());
    if (base.ends_with('/')) return rest;
    if (rest.empty() || rest.front() != '/') return std::nullopt;
    return rest.substr(1);
}

}  // namespace seshook
