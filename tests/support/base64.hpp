#pragma once

// Reading back what seshook keeps in base64 ("bodyBase64" in the rejects file) in tests.

#include <string>
#include <string_view>

#include "seshook/support/base64.hpp"

namespace seshook::testing {

using seshook::encode_base64;

/// Decodes base64, or returns "<invalid base64>" for text that is not base64, so that a test
/// comparing the result fails with a readable message.
inline std::string decode_base64(std::string_view text) {
    return seshook::decode_base64(text).value_or("<invalid base64>");
}

}  // namespace seshook::testing
