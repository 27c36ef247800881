#include "seshook/auth/network_list.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <stdexcept>
#include <string>

namespace seshook {
namespace {

constexpr std::array<std::uint8_t, 12> mapped_prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

unsigned bits_of(const ip_address& address) noexcept { return address.v4 ? 32 : 128; }

// Returns true when the first `prefix` bits of `a` and `b` are equal.
bool same_prefix(const ip_address& a, const ip_address& b, unsigned prefix) noexcept {
    const unsigned whole = prefix / 8;
    if (std::memcmp(a.bytes.data(), b.bytes.data(), whole) != 0) return false;
    const unsigned rest = prefix % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (a.bytes[whole] & mask) == (b.bytes[whole] & mask);
}

// Returns true when no bit past the first `prefix` ones is set.
bool host_bits_clear(const ip_address& address, unsigned prefix) noexcept {
    for (unsigned bit = prefix; bit < bits_of(address); ++bit) {
        if ((address.bytes[bit / 8] >> (7 - bit % 8)) & 1) return false;
    }
    return true;
}

}  // namespace

std::optional<ip_address> parse_ip_address(std::string_view text) {
    // inet_pton needs a terminated string; anything longer than an IPv6 text is no address.
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    char buffer[INET6_ADDRSTRLEN] = {};
    std::memcpy(buffer, text.data(), text.size());

    ip_address address;
    if (inet_pton(AF_INET, buffer, address.bytes.data()) == 1) {
        address.v4 = true;
        return address;
    }
    if (inet_pton(AF_INET6, buffer, address.bytes.data()) != 1) return std::nullopt;

    // NOTE: a mapped address is the IPv4 client of a dual-stack socket; held as IPv4, it
    // matches the IPv4 networks an operator writes.
    if (std::memcmp(address.bytes.data(), mapped_prefix.data(), mapped_prefix.size()) == 0) {
        ip_address v4;
        v4.v4 = true;
        std::memcpy(v4.bytes.data(), address.bytes.data() + 12, 4);
        return v4;
    }
    return address;
}

std::string to_string(const ip_address& address) {
    char buffer[INET6_ADDRSTRLEN] = {};
    inet_ntop(address.v4 ? AF_INET : AF_INET6, address.bytes.data(), buffer, sizeof buffer);
    return buffer;
}

bool is_loopback(const ip_address& address) noexcept {
    if (address.v4) return address.bytes[0] == 127;
    ip_address one;
    one.bytes[15] = 1;
    return address == one;
}

std::string_view to_string(network_error error) noexcept {
    switch (error) {
        case network_error::not_an_address:
            return "is not an IPv4 or IPv6 address or network";
        case network_error::bad_prefix:
            return "has a prefix length that is not 0 to 32 (IPv4) or 0 to 128 (IPv6)";
        case network_error::host_bits_set:
            return "has bits set past its prefix length; write the network's first address, "
                   "as in 192.0.2.0/24";
    }
    return "is not a network";
}

bool ip_network::contains(const ip_address& address) const noexcept {
    return address.v4 == base.v4 && same_prefix(address, base, prefix);
}

boost::system::result<ip_network, network_error> parse_network(std::string_view text) {
    // The address, before the slash.
    const auto slash = text.find('/');
    const std::string_view address_text = text.substr(0, slash);
    const bool mapped_text = address_text.find(':') != std::string_view::npos;
    const auto address = parse_ip_address(address_text);
    if (!address) return network_error::not_an_address;
    ip_network network{*address, bits_of(*address)};
    if (slash == std::string_view::npos) return network;

    // The prefix length: digits only, within the bits of the family as written.
    const std::string_view digits = text.substr(slash + 1);
    unsigned prefix = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    const unsigned written_bits = mapped_text ? 128 : 32;
    if (digits.empty() || digits.size() > 3 || ec != std::errc{} ||
        end != digits.data() + digits.size() || prefix > written_bits) {
        return network_error::bad_prefix;
    }

    // A network written as IPv4-mapped IPv6 counts in IPv6 bits; below /96 it would take in
    // addresses that are not mapped at all, and it is left as IPv6.
    if (mapped_text && address->v4) {
        if (prefix < 96) {
            ip_address v6;
            std::memcpy(v6.bytes.data(), mapped_prefix.data(), mapped_prefix.size());
            std::memcpy(v6.bytes.data() + 12, address->bytes.data(), 4);
            network.base = v6;
        } else {
            prefix -= 96;
        }
    }
    network.prefix = prefix;
    if (!host_bits_clear(network.base, prefix)) return network_error::host_bits_set;
    return network;
}

void throw_exception_from_error(network_error error, const boost::source_location& /*location*/) {
    throw std::invalid_argument("network " + std::string(to_string(error)));
}

bool network_list::contains(const ip_address& address) const noexcept {
    for (const auto& network : networks_) {
        if (network.contains(address)) return true;
    }
    return false;
}

}  // namespace seshook
