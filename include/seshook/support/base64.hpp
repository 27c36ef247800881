#pragma once

// Standard base64 (RFC 4648, section 4, with '=' padding), through OpenSSL's encoder and decoder:
// the rejects file keeps undecodable bodies in it, HTTP Basic credentials and the signatures of
// forwarded events are written in it.

#include <optional>
#include <string>
#include <string_view>

namespace seshook {

/// Returns `bytes` in standard base64 with padding.
std::string encode_base64(std::string_view bytes);

/// Decodes padded standard base64; returns nothing for text that is not exactly that (a length
/// that is not a multiple of 4, a character outside the alphabet, padding not at the end).
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace seshook
