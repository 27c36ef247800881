#include "seshook/auth/client_address.hpp"

namespace seshook {
namespace {

std::string_view trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t");
    return text.substr(first, last - first + 1);
}

// Returns true for a non-empty run of digits, as a port is written.
bool is_port(std::string_view text) {
    if (text.empty() || text.size() > 5) return false;
    for (const char c : text) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

// Reads one address as proxies write it: "192.0.2.1", "192.0.2.1:4711", "2001:db8::1",
// "[2001:db8::1]" or "[2001:db8::1]:4711".
std::optional<ip_address> parse_hop(std::string_view text) {
    text = trim(text);
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        const std::string_view after = text.substr(close + 1);
        if (!after.empty() && !(after.front() == ':' && is_port(after.substr(1)))) {
            return std::nullopt;
        }
        return parse_ip_address(text.substr(1, close - 1));
    }
    const auto colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
        if (!is_port(text.substr(colon + 1))) return std::nullopt;
        text = text.substr(0, colon);
    }
    return parse_ip_address(text);
}

// Reads the TCP peer; a link-local IPv6 peer carries its zone ("fe80::1%2"), which names the
// interface and is no part of the address.
std::optional<ip_address> parse_peer(std::string_view peer) {
    return parse_ip_address(peer.substr(0, peer.find('%')));
}

client_address from_proxy(const ip_address& address) {
    return client_address{to_string(address), address, true};
}

}  // namespace

client_address resolve_client(std::string_view peer, std::string_view forwarded_for,
                              std::string_view real_ip, const network_list& trusted_proxies) {
    // The TCP peer is the client unless it is a proxy we were told to believe.
    client_address direct{std::string(peer), parse_peer(peer), false};
    if (!direct.address || trusted_proxies.empty() || !trusted_proxies.contains(*direct.address)) {
        return direct;
    }

    // Walk X-Forwarded-For from the right, the hop nearest to us, past the trusted proxies.
    if (!trim(forwarded_for).empty()) {
        std::optional<ip_address> believed;
        for (std::string_view rest = forwarded_for;;) {
            const auto comma = rest.rfind(',');
            const auto hop =
                parse_hop(comma == std::string_view::npos ? rest : rest.substr(comma + 1));

            // NOTE: what stands left of an entry that is not an address was written by no one
            // we trust; the last proxy believed is the best that is known.
            if (!hop) break;
            believed = hop;
            if (!trusted_proxies.contains(*hop) || comma == std::string_view::npos) break;
            rest = rest.substr(0, comma);
        }
        return believed ? from_proxy(*believed) : direct;
    }

    // X-Real-IP names the client alone.
    if (const auto address = parse_hop(real_ip)) return from_proxy(*address);
    return direct;
}

}  // namespace seshook
