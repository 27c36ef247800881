#include "seshook/sinks/webhook_signer.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "seshook/support/base64.hpp"

namespace seshook {

namespace {

constexpr std::string_view secret_prefix = "whsec_";

// The key sizes the specification allows for symmetric signatures: "at least 24 bytes (192
// bits), 512 bits maximum".
constexpr std::size_t min_key_bytes = 24;
constexpr std::size_t max_key_bytes = 64;

// Returns the value of a character of the standard base64 alphabet (RFC 4648, section 4), or
// -1 for any other character.
int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// Decodes standard base64 with or without its trailing '=' padding; returns nothing for
// anything else (other alphabets, spaces, padding in the middle, a dangling character, or
// unused bits that are not zero), so that one key has exactly one spelling.
std::optional<std::vector<unsigned char>> decode_key_base64(std::string_view text) {
    if (text.size() % 4 == 0 && text.ends_with("==")) {
        text.remove_suffix(2);
    } else if (text.size() % 4 == 0 && text.ends_with('=')) {
        text.remove_suffix(1);
    }
    if (text.size() % 4 == 1) return std::nullopt;

    std::vector<unsigned char> bytes;
    bytes.reserve(text.size() * 3 / 4);
    std::uint32_t bits = 0;
    int bit_count = 0;
    for (const char c : text) {
        const int value = base64_value(c);
        if (value < 0) return std::nullopt;
        bits = (bits << 6) | static_cast<std::uint32_t>(value);
        bit_count += 6;
        if (bit_count >= 8) {
            bit_count -= 8;
            bytes.push_back(static_cast<unsigned char>(bits >> bit_count));
            bits &= (1u << bit_count) - 1;
        }
    }
    if (bits != 0) return std::nullopt;
    return bytes;
}

}  // namespace

std::string_view to_string(signing_secret_error error) noexcept {
    switch (error) {
        case signing_secret_error::missing_prefix:
            return "must start with \"whsec_\" followed by the base64 of the key";
        case signing_secret_error::not_base64:
            return "must be \"whsec_\" followed by standard base64 (A-Z, a-z, 0-9, '+', '/')";
        case signing_secret_error::too_short:
            return "must decode to a key of at least 24 bytes";
        case signing_secret_error::too_long:
            return "must decode to a key of at most 64 bytes";
    }
    return "is not a valid signing secret";
}

void throw_exception_from_error(signing_secret_error error,
                                const boost::source_location& /*location*/) {
    throw std::invalid_argument("signing secret: " + std::string(to_string(error)));
}

boost::system::result<webhook_signer, signing_secret_error> webhook_signer::from_secret(
    std::string_view secret) {
    if (!secret.starts_with(secret_prefix)) {
        return signing_secret_error::missing_prefix;
    }
    auto key = decode_key_base64(secret.substr(secret_prefix.size()));
    if (!key) {
        return signing_secret_error::not_base64;
    }
    if (key->size() < min_key_bytes) {
        return signing_secret_error::too_short;
    }
    if (key->size() > max_key_bytes) {
        return signing_secret_error::too_long;
    }
    return webhook_signer(std::move(*key));
}

std::string webhook_signer::sign(std::string_view id, std::int64_t timestamp,
                                 std::string_view body) const {
    std::string content;
    const auto stamp = std::to_string(timestamp);
    content.reserve(id.size() + stamp.size() + body.size() + 2);
    content.append(id).append(1, '.').append(stamp).append(1, '.').append(body);

    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int mac_size = 0;
    if (HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
             reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac.data(),
             &mac_size) == nullptr) {
        throw std::runtime_error("webhook signature: HMAC-SHA256 failed");
    }
    return "v1," +
           encode_base64(std::string_view(reinterpret_cast<const char*>(mac.data()), mac_size));
}

}  // namespace seshook
