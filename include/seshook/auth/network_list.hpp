#pragma once

#include <array>
#include <boost/system/result.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace seshook {

/// An IPv4 or IPv6 address. An IPv4-mapped IPv6 address (::ffff:192.0.2.1) is held as the IPv4
/// address it maps, so that a dual-stack listener's peers match IPv4 networks.
struct ip_address {
    bool v4 = false;
    std::array<std::uint8_t, 16> bytes{};  // network order; an IPv4 address in the first 4

    bool operator==(const ip_address&) const = default;
};

/// Parses "192.0.2.1", "2001:db8::1" or "::ffff:192.0.2.1", nothing else (no brackets, port or
/// zone).
std::optional<ip_address> parse_ip_address(std::string_view text);

/// Returns the address in its usual text form ("192.0.2.1", "2001:db8::1").
std::string to_string(const ip_address& address);

/// Returns true for 127.0.0.0/8 and ::1.
bool is_loopback(const ip_address& address) noexcept;

/// Why a network could not be read; `to_string` gives a sentence for the config error.
enum class network_error {
    not_an_address,  // the part before '/' is not an IPv4 or IPv6 address
    bad_prefix,      // the part after '/' is not a length within the address's bits
    host_bits_set,   // bits past the prefix are set ("192.0.2.1/24")
};

/// Returns a sentence that says what is wrong, e.g. "the prefix length is not ...".
std::string_view to_string(network_error error) noexcept;

/// A network: the addresses whose first `prefix` bits equal those of `base`.
struct ip_network {
    ip_address base;
    unsigned prefix = 0;

    /// Returns true when `address` lies in the network (of the same family).
    bool contains(const ip_address& address) const noexcept;
};

/// Parses a CIDR ("192.0.2.0/24", "2001:db8::/32"); a bare address is a network of that one
/// address (/32 or /128). An IPv4-mapped IPv6 network of at least /96 is read as IPv4.
boost::system::result<ip_network, network_error> parse_network(std::string_view text);

/// Lets boost::system::result::value() throw when it holds an error.
[[noreturn]] void throw_exception_from_error(network_error error,
                                             const boost::source_location& location);

/// A list of networks, e.g. `[auth] allow_networks`.
class network_list {
public:
    network_list() = default;

    void add(const ip_network& network) { networks_.push_back(network); }

    /// Returns true when one of the networks holds `address`.
    bool contains(const ip_address& address) const noexcept;

    bool empty() const noexcept { return networks_.empty(); }
    std::size_t size() const noexcept { return networks_.size(); }

private:
    std::vector<ip_network> networks_;
};

}  // namespace seshook
