#pragma once

#include <string>
#include <string_view>

namespace seshook {

/// What stands in a masked target where a secret was.
inline constexpr std::string_view masked_text = "<masked>";

/// Returns a request target fit for logs and files: what follows `callback_path` in the path
/// becomes "/<masked>" (the token of "/callback/<token>"), as do the value of every `token`
/// query parameter (its name compared without case) and the user info of an absolute form
/// ("http://user:password@host/"). A callback path that may itself be secret is shown as
/// masked_path() shows it. So is, after the origin, every other run of min_secret_length or
/// more token characters: a token sent to a mistyped path. Everything else is kept as it came.
std::string mask_target(std::string_view target, std::string_view callback_path);

}  // namespace seshook
