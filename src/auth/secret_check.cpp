#include "seshook/auth/secret_check.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdexcept>

#include "seshook/support/base64.hpp"

namespace seshook {
namespace {

bool is_printable_ascii(char c) noexcept { return c >= 0x20 && c <= 0x7e; }

bool iequals_ascii(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

}  // namespace

bool is_token_character(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

std::optional<std::string> token_problem(std::string_view token) {
    if (token.size() < min_secret_length) {
        return "must be at least " + std::to_string(min_secret_length) + " characters long";
    }
    for (const char c : token) {
        if (!is_token_character(c)) {
            return "may hold only letters, digits, '-', '.', '_' and '~' (characters that need no "
                   "escaping in a URL)";
        }
    }
    return std::nullopt;
}

std::optional<std::string> basic_user_problem(std::string_view user_password) {
    const auto colon = user_password.find(':');
    if (colon == std::string_view::npos) return "must be written \"user:password\"";
    if (colon == 0) return "has an empty user name (written \"user:password\")";
    for (const char c : user_password) {
        if (!is_printable_ascii(c)) return "may hold only printable ASCII characters";
    }
    if (user_password.size() - colon - 1 < min_secret_length) {
        return "has a password shorter than " + std::to_string(min_secret_length) + " characters";
    }
    return std::nullopt;
}

std::optional<std::string> basic_credentials(std::string_view authorization) {
    // The scheme's name, compared without case, then the credentials after blanks.
    constexpr std::string_view scheme = "basic";
    if (authorization.size() <= scheme.size() ||
        !iequals_ascii(authorization.substr(0, scheme.size()), scheme) ||
        authorization[scheme.size()] != ' ') {
        return std::nullopt;
    }
    std::string_view encoded = authorization.substr(scheme.size());
    const auto first = encoded.find_first_not_of(' ');
    if (first == std::string_view::npos) return std::nullopt;
    encoded = encoded.substr(first);
    encoded = encoded.substr(0, encoded.find_last_not_of(" \t") + 1);
    return decode_base64(encoded);
}

void secret_set::add(std::string_view secret) {
    digest d{};
    unsigned int length = 0;
    if (EVP_Digest(secret.data(), secret.size(), d.data(), &length, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("auth: cannot compute SHA-256");
    }
    digests_.push_back(d);
}

bool secret_set::contains(std::string_view candidate) const {
    digest d{};
    unsigned int length = 0;
    if (EVP_Digest(candidate.data(), candidate.size(), d.data(), &length, EVP_sha256(), nullptr) !=
        1) {
        return false;
    }

    // NOTE: every digest is compared, and without an early exit, so that the time taken does
    // not tell which of them (if any) matched.
    bool found = false;
    for (const auto& known : digests_) {
        found |= CRYPTO_memcmp(known.data(), d.data(), d.size()) == 0;
    }
    return found;
}

bool secret_check::passes(std::optional<std::string_view> token,
                          std::string_view authorization) const {
    if (!required()) return true;
    if (token && !tokens_.empty() && tokens_.contains(*token)) return true;
    if (basic_users_.empty() || authorization.empty()) return false;
    const auto credentials = basic_credentials(authorization);
    return credentials && basic_users_.contains(*credentials);
}

}  // namespace seshook
