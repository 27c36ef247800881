#include "seshook/event/event_id.hpp"

#include <openssl/evp.h>

#include <array>
#include <cctype>
#include <initializer_list>
#include <string>

namespace seshook {
namespace {

std::string lowercase_ascii(std::string_view text) {
    std::string lowered(text);
    for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lowered;
}

}  // namespace

std::string make_event_id(const event_identity& identity) {
    // Join the parts, each preceded by its length, so that no two different identities can
    // join into the same text whatever bytes the parts hold; the address is lowercased because
    // its case is not guaranteed.
    const std::string email = lowercase_ascii(identity.email);
    std::string joined;
    for (const std::string_view part : {identity.bulk_id, std::string_view(email), identity.event,
                                        identity.timestamp, identity.link}) {
        joined.append(std::to_string(part.size())).push_back(':');
        joined.append(part);
    }

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
