#include "seshook/auth/target_mask.hpp"

#include "seshook/auth/request_target.hpp"
#include "seshook/auth/secret_check.hpp"
#include "seshook/support/printable.hpp"

namespace seshook {
namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) {
            return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
        };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

// "http://user:password@host:8080" becomes "http://<masked>@host:8080".
std::string mask_origin(std::string_view origin) {
    const auto scheme_end = origin.find("://");
    const auto at = origin.rfind('@');
    if (scheme_end == std::string_view::npos || at == std::string_view::npos || at < scheme_end) {
        return std::string(origin);
    }
    std::string masked(origin.substr(0, scheme_end + 3));
    masked += masked_text;
    masked += origin.substr(at);
    return masked;
}

std::string mask_path(std::string_view path, std::string_view callback_path) {
    if (path == callback_path) return masked_path(callback_path);
    const auto rest = rest_after(path, callback_path);
    if (!rest || rest->empty()) return std::string(path);
    std::string masked = masked_path(callback_path);
    if (!masked.ends_with('/')) masked += '/';
    return masked + std::string(masked_text);
}

std::string mask_query(std::string_view query) {
    std::string masked;
    while (true) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        const auto equals = pair.find('=');
        if (equals != std::string_view::npos && iequals(pair.substr(0, equals), "token")) {
            masked += pair.substr(0, equals + 1);
            masked += masked_text;
        } else {
            masked += pair;
        }
        if (amp == std::string_view::npos) return masked;
        masked += '&';
        query = query.substr(amp + 1);
    }
}

// Masks every run of token characters long enough to be a token: one sent where the callback
// path does not expect it ("/CALLBACK/<token>", "//callback/<token>", "/callback#<token>",
// a URL mistyped in the SES console) is still a secret.
std::string mask_token_runs(std::string_view text) {
    std::string masked;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = start;
        while (end < text.size() && is_token_character(text[end])) ++end;
        if (end - start >= min_secret_length) {
            masked += masked_text;
        } else {
            masked += text.substr(start, end - start);
        }
        if (end < text.size()) masked += text[end];
        start = end + 1;
    }
    return masked;
}

}  // namespace

std::string mask_target(std::string_view target, std::string_view callback_path) {
    const target_parts parts = split_target(target);
    std::string masked = mask_origin(parts.origin);
    const std::size_t origin_size = masked.size();
    // NOTE: an absolute form without a path ("http://host?token=…") gets "/" from
    // split_target; the masked text keeps what was sent.
    if (!(parts.origin.size() == target.size() || target[parts.origin.size()] == '?')) {
        masked += mask_path(parts.path, callback_path);
    }
    if (target.find('?') != std::string_view::npos) {
        masked += '?';
        masked += mask_query(parts.query);
    }

    // The origin names the host, which may be long and is no secret once its user info is gone.
    return masked.substr(0, origin_size) +
           mask_token_runs(std::string_view(masked).substr(origin_size));
}

}  // namespace seshook
