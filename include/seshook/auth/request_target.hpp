#pragma once

#include <optional>
#include <string_view>

namespace seshook {

/// The parts of a request target as sent: the origin form ("/callback?token=…") or the
/// absolute form ("http://host:8080/callback?token=…", which RFC 9112 lets a client send).
struct target_parts {
    std::string_view origin;  // "http://host:8080" of the absolute form, "" for the origin form
    std::string_view path;    // "/callback"; "/" for an absolute form without a path
    std::string_view query;   // what follows '?', without it; "" when there is none
};

/// Splits a request target into its parts.
target_parts split_target(std::string_view target) noexcept;

/// Returns the value of the first parameter called `name` in a query ("a=1&token=x&b"), as
/// written (not percent-decoded), or nothing when there is none.
std::optional<std::string_view> query_value(std::string_view query, std::string_view name) noexcept;

/// Returns what follows `base` in `path` past one slash ("abc" for "/callback/abc" after
/// "/callback"; a `base` that ends in "/" is followed at once), or nothing when `path` does not
/// go on from `base` that way. What is returned may be empty or hold more slashes.
std::optional<std::string_view> rest_after(std::string_view path, std::string_view base) noexcept;

}  // namespace seshook
