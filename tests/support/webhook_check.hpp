#pragma once

// A receiver's side of Standard Webhooks signing, written straight on OpenSSL so that tests
// check seshook's signatures without seshook's code.

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace seshook::testing {

/// Returns a fresh secret as Standard Webhooks writes it: "whsec_" + base64 of 32 random bytes.
inline std::string random_signing_secret() {
    std::array<unsigned char, 32> key{};
    if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
        throw std::runtime_error("random_signing_secret: RAND_bytes failed");
    }
    std::string text(4 * ((key.size() + 2) / 3) + 1, '\0');
    const int size = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), key.data(),
                                     static_cast<int>(key.size()));
    text.resize(static_cast<std::size_t>(size));
    return "whsec_" + text;
}

/// Returns the webhook-signature a receiver expects for `id`, `timestamp` and `body` under
/// `secret` ("whsec_..."): "v1," + base64(HMAC-SHA256(key, id.timestamp.body)).
inline std::string expected_webhook_signature(std::string_view secret, std::string_view id,
                                              std::string_view timestamp, std::string_view body) {
    // The key: the base64 after the prefix, less the zero bytes its padding decodes to.
    const std::string encoded(secret.substr(secret.find('_') + 1));
    std::vector<unsigned char> key(encoded.size());
    int key_size =
        EVP_DecodeBlock(key.data(), reinterpret_cast<const unsigned char*>(encoded.data()),
                        static_cast<int>(encoded.size()));
    if (key_size < 0) {
        throw std::runtime_error("expected_webhook_signature: the secret is not base64");
    }
    for (auto c = encoded.rbegin(); c != encoded.rend() && *c == '='; ++c) --key_size;

    // The MAC of "id.timestamp.body".
    const std::string content =
        std::string(id) + "." + std::string(timestamp) + "." + std::string(body);
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int mac_size = 0;
    HMAC(EVP_sha256(), key.data(), key_size, reinterpret_cast<const unsigned char*>(content.data()),
         content.size(), mac.data(), &mac_size);

    std::string text(4 * ((mac_size + 2) / 3) + 1, '\0');
    const int size =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), mac.data(), mac_size);
    text.resize(static_cast<std::size_t>(size));
    return "v1," + text;
}

}  // namespace seshook::testing
