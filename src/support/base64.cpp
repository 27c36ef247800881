#include "seshook/support/base64.hpp"

#include <openssl/evp.h>

namespace seshook {
namespace {

bool is_base64_char(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

}  // namespace

std::string encode_base64(std::string_view bytes) {
    // EVP_EncodeBlock writes 4 characters for every 3 bytes started, plus a terminating zero.
    std::string encoded(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                       reinterpret_cast<const unsigned char*>(bytes.data()),
                                       static_cast<int>(bytes.size()));
    encoded.resize(static_cast<std::size_t>(length));
    return encoded;
}

std::optional<std::string> decode_base64(std::string_view text) {
    // OpenSSL's decoder skips spaces and takes '=' anywhere, so the text is checked first.
    if (text.size() % 4 != 0) return std::nullopt;
    std::size_t padding = 0;
    while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
        ++padding;
    }
    for (std::size_t i = 0; i < text.size() - padding; ++i) {
        if (!is_base64_char(text[i])) return std::nullopt;
    }
    if (text.empty()) return std::string();

    // EVP_DecodeBlock writes 3 bytes for every 4 characters, the padding as zero bytes.
    std::string decoded(text.size() / 4 * 3, '\0');
    const int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                       reinterpret_cast<const unsigned char*>(text.data()),
                                       static_cast<int>(text.size()));
    if (length < 0) return std::nullopt;
    decoded.resize(static_cast<std::size_t>(length) - padding);
    return decoded;
}

}  // namespace seshook
