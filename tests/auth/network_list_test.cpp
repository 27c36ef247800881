#include "seshook/auth/network_list.hpp"

#include <gtest/gtest.h>

#include <string>

namespace seshook {
namespace {

ip_address address(std::string_view text) {
    const auto parsed = parse_ip_address(text);
    if (!parsed) throw std::invalid_argument("not an address: " + std::string(text));
    return *parsed;
}

ip_network network(std::string_view text) { return parse_network(text).value(); }

TEST(IpAddress, ParsesBothFamiliesAndWritesThemBack) {
    EXPECT_TRUE(address("192.0.2.1").v4);
    EXPECT_EQ(to_string(address("192.0.2.1")), "192.0.2.1");
    EXPECT_FALSE(address("2001:db8::1").v4);
    EXPECT_EQ(to_string(address("2001:DB8:0::1")), "2001:db8::1");
}

TEST(IpAddress, HoldsAMappedAddressAsIpv4) {
    const ip_address mapped = address("::ffff:192.0.2.1");
    EXPECT_TRUE(mapped.v4);
    EXPECT_EQ(mapped, address("192.0.2.1"));
    EXPECT_EQ(to_string(mapped), "192.0.2.1");
}

TEST(IpAddress, RefusesWhatIsNotABareAddress) {
    for (const char* text :
         {"", "localhost", "192.0.2", "192.0.2.256", "192.0.2.1:80", "[2001:db8::1]",
          "fe80::1%eth0", " 192.0.2.1", "192.0.2.1/32", "2001:db8::1::2"}) {
        EXPECT_FALSE(parse_ip_address(text).has_value()) << text;
    }
}

TEST(IpAddress, KnowsLoopback) {
    EXPECT_TRUE(is_loopback(address("127.0.0.1")));
    EXPECT_TRUE(is_loopback(address("127.255.0.9")));
    EXPECT_TRUE(is_loopback(address("::1")));
    EXPECT_TRUE(is_loopback(address("::ffff:127.0.0.1")));
    EXPECT_FALSE(is_loopback(address("0.0.0.0")));
    EXPECT_FALSE(is_loopback(address("::")));
    EXPECT_FALSE(is_loopback(address("192.0.2.1")));
}

TEST(IpNetwork, ContainsItsAddressesOnly) {
    const ip_network net = network("192.0.2.0/24");
    EXPECT_TRUE(net.contains(address("192.0.2.0")));
    EXPECT_TRUE(net.contains(address("192.0.2.255")));
    EXPECT_FALSE(net.contains(address("192.0.3.0")));
    EXPECT_FALSE(net.contains(address("192.0.1.255")));

    const ip_network odd = network("10.0.0.0/9");
    EXPECT_TRUE(odd.contains(address("10.127.255.255")));
    EXPECT_FALSE(odd.contains(address("10.128.0.0")));

    const ip_network v6 = network("2001:db8::/32");
    EXPECT_TRUE(v6.contains(address("2001:db8:ffff::1")));
    EXPECT_FALSE(v6.contains(address("2001:db9::1")));
}

TEST(IpNetwork, BareAddressIsANetworkOfOne) {
    const ip_network one = network("192.0.2.7");
    EXPECT_EQ(one.prefix, 32u);
    EXPECT_TRUE(one.contains(address("192.0.2.7")));
    EXPECT_FALSE(one.contains(address("192.0.2.6")));
    const ip_network one_v6 = network("2001:db8::7");
    EXPECT_EQ(one_v6.prefix, 128u);
    EXPECT_TRUE(one_v6.contains(address("2001:db8::7")));
    EXPECT_FALSE(one_v6.contains(address("2001:db8::6")));
}

TEST(IpNetwork, ZeroPrefixTakesTheWholeFamily) {
    EXPECT_TRUE(network("0.0.0.0/0").contains(address("203.0.113.9")));
    EXPECT_FALSE(network("0.0.0.0/0").contains(address("2001:db8::1")));
    EXPECT_TRUE(network("::/0").contains(address("2001:db8::1")));
    EXPECT_FALSE(network("::/0").contains(address("203.0.113.9")));
}

TEST(IpNetwork, MappedPeersMatchIpv4Networks) {
    EXPECT_TRUE(network("127.0.0.0/8").contains(address("::ffff:127.0.0.1")));
    EXPECT_TRUE(network("192.0.2.1").contains(address("::ffff:192.0.2.1")));
}

TEST(IpNetwork, MappedNetworkIsReadAsIpv4) {
    const ip_network net = network("::ffff:192.0.2.0/120");
    EXPECT_TRUE(net.base.v4);
    EXPECT_EQ(net.prefix, 24u);
    EXPECT_TRUE(net.contains(address("192.0.2.9")));
    EXPECT_FALSE(net.contains(address("192.0.3.9")));
}

TEST(IpNetwork, RefusesMalformedNetworks) {
    EXPECT_EQ(parse_network("192.0.2.0/33").error(), network_error::bad_prefix);
    EXPECT_EQ(parse_network("2001:db8::/129").error(), network_error::bad_prefix);
    EXPECT_EQ(parse_network("192.0.2.0/").error(), network_error::bad_prefix);
    EXPECT_EQ(parse_network("192.0.2.0/+8").error(), network_error::bad_prefix);
    EXPECT_EQ(parse_network("192.0.2.0/24 ").error(), network_error::bad_prefix);
    EXPECT_EQ(parse_network("192.0.2.0/0024").error(), network_error::bad_prefix);
    EXPECT_EQ(parse_network("192.0.2.0/2/4").error(), network_error::bad_prefix);
    EXPECT_EQ(parse_network("example.net/24").error(), network_error::not_an_address);
    EXPECT_EQ(parse_network("").error(), network_error::not_an_address);
    EXPECT_EQ(parse_network("/24").error(), network_error::not_an_address);
}

TEST(IpNetwork, RefusesHostBitsPastThePrefix) {
    EXPECT_EQ(parse_network("192.0.2.1/24").error(), network_error::host_bits_set);
    EXPECT_EQ(parse_network("2001:db8::1/64").error(), network_error::host_bits_set);
    EXPECT_EQ(parse_network("10.128.0.0/8").error(), network_error::host_bits_set);
    EXPECT_FALSE(to_string(network_error::host_bits_set).empty());
}

TEST(NetworkList, ContainsWhatAnyNetworkContains) {
    network_list list;
    EXPECT_TRUE(list.empty());
    EXPECT_FALSE(list.contains(address("192.0.2.1")));
    list.add(network("192.0.2.0/24"));
    list.add(network("2001:db8::/48"));
    EXPECT_EQ(list.size(), 2u);
    EXPECT_TRUE(list.contains(address("192.0.2.200")));
    EXPECT_TRUE(list.contains(address("2001:db8:0:1::5")));
    EXPECT_FALSE(list.contains(address("198.51.100.1")));
    EXPECT_FALSE(list.contains(address("2001:db8:1::5")));
}

}  // namespace
}  // namespace seshook
