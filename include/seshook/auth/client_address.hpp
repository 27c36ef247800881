#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "seshook/auth/network_list.hpp"

namespace seshook {

/// The address a request is taken to come from, once trusted proxies are seen through.
struct client_address {
    std::string text;                   // as logged and kept in records, e.g. "203.0.113.7"
    std::optional<ip_address> address;  // nothing when the TCP peer is not an IP address
    bool via_proxy = false;             // taken from a trusted proxy's header
};

/// Returns the client of a request: the TCP peer, or, when the peer is one of
/// `trusted_proxies`, the rightmost X-Forwarded-For address that is not itself a trusted proxy
/// (X-Real-IP when there is no X-Forwarded-For). Headers from any other peer are ignored, since
/// anyone can write them. An X-Forwarded-For entry that is not an address ends the walk at the
/// last proxy believed; one made only of trusted proxies gives its leftmost address.
client_address resolve_client(std::string_view peer, std::string_view forwarded_for,
                              std::string_view real_ip, const network_list& trusted_proxies);

}  // namespace seshook
