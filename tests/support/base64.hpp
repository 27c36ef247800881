#pragma once

// Writing and reading back what seshook keeps in base64 ("bodyBase64" in the rejects file). Needs
// OpenSSL::Crypto, which every seshook library links.

#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace seshook::testing {

/// Encodes `bytes` in standard base64 with padding, as the rejects file keeps them.
inline std::string encode_base64(std::string_view bytes) {
    std::string encoded(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                       reinterpret_cast<const unsigned char*>(bytes.data()),
                                       static_cast<int>(bytes.size()));
    encoded.resize(static_cast<std::size_t>(length));
    return encoded;
}

/// Decodes base64 with OpenSSL's own decoder, trimming the padding bytes it leaves; returns
/// "<invalid base64>" for text that is not base64.
inline std::string decode_base64(const std::string& text) {
    std::string decoded(text.size() / 4 * 3, '\0');
    const int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                       reinterpret_cast<const unsigned char*>(text.data()),
                                       static_cast<int>(text.size()));
    if (length < 0) return "<invalid base64>";
    decoded.resize(static_cast<std::size_t>(length));
    std::size_t padding = 0;
    for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) ++padding;
    decoded.resize(decoded.size() - padding);
    return decoded;
}

}  // namespace seshook::testing
