#include "seshook/event/event_id.hpp"

#include <openssl/evp.h>

#include <array>
#include <cctype>

namespace seshook {
namespace {

// The unit separator cannot appear in any of the parts Tencent sends, so two different
// identities never join into the same text.
constexpr char separator = '\x1f';

std::string lowercase_ascii(std::string_view text) {
    std::string lowered(text);
    for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lowered;
}

}  // namespace

std::string make_event_id(const event_identity& identity) {
    // Join the parts; the address is lowercased because its case is not guaranteed.
    std::string joined;
    joined.reserve(identity.bulk_id.size() + identity.email.size() + identity.event.size() +
                   identity.timestamp.size() + identity.link.size() + 4);
    joined.append(identity.bulk_id).push_back(separator);
    joined.append(lowercase_ascii(identity.email)).push_back(separator);
    joined.append(identity.event).push_back(separator);
    joined.append(identity.timestamp).push_back(separator);
    joined.append(identity.link);

    // Digest it and keep the first 128 bits as hex.
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int digest_size = 0;
    EVP_Digest(joined.data(), joined.size(), digest.data(), &digest_size, EVP_sha256(), nullptr);

    constexpr std::string_view hex = "0123456789abcdef";
    std::string id;
    id.reserve(32);
    for (std::size_t i = 0; i < 16; ++i) {
        id.push_back(hex[digest[i] >> 4]);
        id.push_back(hex[digest[i] & 0x0f]);
    }
    return id;
}

}  // namespace seshook
