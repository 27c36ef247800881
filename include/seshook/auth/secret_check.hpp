#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace seshook {

/// Tokens shorter than this are refused: the endpoint is public and may be guessed at.
inline constexpr std::size_t min_secret_length = 16;

/// Returns true for the characters a token may hold: the URL-safe unreserved A-Z a-z 0-9 - . _ ~.
bool is_token_character(char c) noexcept;

/// Returns what is wrong with a token from the config (too short, or a character outside the
/// URL-safe unreserved ones A-Z a-z 0-9 - . _ ~), or nothing when it can be used. The message
/// never quotes the token.
std::optional<std::string> token_problem(std::string_view token);

/// Returns what is wrong with a "user:password" of the config for HTTP Basic, or nothing when
/// it can be used. The message never quotes either part.
std::optional<std::string> basic_user_problem(std::string_view user_password);

/// Returns the "user:password" that an Authorization header of the Basic scheme carries, or
/// nothing for another scheme or a value that is not base64.
std::optional<std::string> basic_credentials(std::string_view authorization);

/// A set of secrets, held only as SHA-256 digests and compared in constant time: how long a
/// check takes says nothing about how much of a guess was right, nor about its length.
class secret_set {
public:
    /// Adds a secret.
    void add(std::string_view secret);

    /// Returns true when `candidate` is one of the secrets; compares with every one of them.
    bool contains(std::string_view candidate) const;

    bool empty() const noexcept { return digests_.empty(); }
    std::size_t size() const noexcept { return digests_.size(); }

private:
    using digest = std::array<unsigned char, 32>;
    std::vector<digest> digests_;
};

/// Decides whether a request holds one of the configured secrets: a token (from the path or the
/// query) or HTTP Basic credentials. With none configured, every request passes.
class secret_check {
public:
    secret_check() = default;
    secret_check(secret_set tokens, secret_set basic_users)
        : tokens_(std::move(tokens)), basic_users_(std::move(basic_users)) {}

    /// Returns true when some secret is configured, so that requests must hold one.
    bool required() const noexcept { return !tokens_.empty() || !basic_users_.empty(); }

    /// Returns true when `token` (what the request presents as one, nothing when it presents
    /// none) is a configured token, or `authorization` holds configured Basic credentials.
    bool passes(std::optional<std::string_view> token, std::string_view authorization) const;

private:
    secret_set tokens_;
    secret_set basic_users_;
};

}  // namespace seshook
