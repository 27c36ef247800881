#include "seshook/auth/client_address.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

namespace seshook {
namespace {

network_list networks(std::initializer_list<const char*> texts) {
    network_list list;
    for (const char* text : texts) list.add(parse_network(text).value());
    return list;
}

const network_list proxies = networks({"10.0.0.0/8", "2001:db8:feed::/48"});

std::string client_of(std::string_view peer, std::string_view forwarded_for,
                      std::string_view real_ip = "", const network_list& trusted = proxies) {
    return resolve_client(peer, forwarded_for, real_ip, trusted).text;
}

TEST(ClientAddress, IsThePeerWithoutTrustedProxies) {
    const client_address client = resolve_client("203.0.113.7", "198.51.100.1", "198.51.100.2", {});
    EXPECT_EQ(client.text, "203.0.113.7");
    ASSERT_TRUE(client.address.has_value());
    EXPECT_EQ(to_string(*client.address), "203.0.113.7");
    EXPECT_FALSE(client.via_proxy);
}

TEST(ClientAddress, IgnoresHeadersFromAPeerThatIsNotTrusted) {
    EXPECT_EQ(client_of("203.0.113.7", "198.51.100.1"), "203.0.113.7");
    EXPECT_EQ(client_of("203.0.113.7", "", "198.51.100.1"), "203.0.113.7");
}

TEST(ClientAddress, KeepsThePeerAsWrittenAndParsesAMappedOne) {
    const client_address client = resolve_client("::ffff:203.0.113.7", "", "", proxies);
    EXPECT_EQ(client.text, "::ffff:203.0.113.7");
    ASSERT_TRUE(client.address.has_value());
    EXPECT_TRUE(client.address->v4);
}

TEST(ClientAddress, PeerThatIsNoAddressHasNone) {
    const client_address client = resolve_client("unknown", "198.51.100.1", "", proxies);
    EXPECT_EQ(client.text, "unknown");
    EXPECT_FALSE(client.address.has_value());
}

TEST(ClientAddress, LinkLocalPeerLosesItsZone) {
    const client_address client = resolve_client("fe80::1%2", "", "", proxies);
    EXPECT_EQ(client.text, "fe80::1%2");
    ASSERT_TRUE(client.address.has_value());
    EXPECT_EQ(to_string(*client.address), "fe80::1");
}

TEST(ClientAddress, TrustedProxyNamesTheClient) {
    const client_address client = resolve_client("10.0.0.5", "198.51.100.1", "", proxies);
    EXPECT_EQ(client.text, "198.51.100.1");
    EXPECT_TRUE(client.via_proxy);
}

TEST(ClientAddress, TakesTheRightmostAddressThatIsNotATrustedProxy) {
    // The client may write anything left of what our proxies appended.
    EXPECT_EQ(client_of("10.0.0.5", "1.1.1.1, 198.51.100.1, 10.0.0.9"), "198.51.100.1");
    EXPECT_EQ(client_of("10.0.0.5", "1.1.1.1,198.51.100.1"), "198.51.100.1");
    EXPECT_EQ(client_of("10.0.0.5", " 198.51.100.1 ,\t10.1.2.3 "), "198.51.100.1");
}

TEST(ClientAddress, AllTrustedGivesTheLeftmost) {
    EXPECT_EQ(client_of("10.0.0.5", "10.0.0.7, 10.0.0.8"), "10.0.0.7");
}

TEST(ClientAddress, GarbageEndsTheWalkAtTheLastProxyBelieved) {
    // Right at the end: nothing believable came from the proxy, so the proxy is the client.
    EXPECT_EQ(client_of("10.0.0.5", "198.51.100.1, not-an-address"), "10.0.0.5");
    // Behind a trusted hop: that hop.
    EXPECT_EQ(client_of("10.0.0.5", "198.51.100.1, bogus, 10.0.0.8"), "10.0.0.8");
    EXPECT_EQ(client_of("10.0.0.5", "198.51.100.1,,10.0.0.8"), "10.0.0.8");
    EXPECT_EQ(client_of("10.0.0.5", ","), "10.0.0.5");
}

TEST(ClientAddress, ReadsPortsAndBrackets) {
    EXPECT_EQ(client_of("10.0.0.5", "198.51.100.1:4711"), "198.51.100.1");
    EXPECT_EQ(client_of("10.0.0.5", "[2001:db8::1]:4711"), "2001:db8::1");
    EXPECT_EQ(client_of("10.0.0.5", "[2001:db8::1]"), "2001:db8::1");
    EXPECT_EQ(client_of("10.0.0.5", "2001:db8::1"), "2001:db8::1");
    EXPECT_EQ(client_of("10.0.0.5", "::ffff:198.51.100.1"), "198.51.100.1");
    EXPECT_EQ(client_of("10.0.0.5", "[2001:db8::1]x"), "10.0.0.5");
    EXPECT_EQ(client_of("10.0.0.5", "198.51.100.1:port"), "10.0.0.5");
}

TEST(ClientAddress, RealIpServesWithoutForwardedFor) {
    EXPECT_EQ(client_of("10.0.0.5", "", "198.51.100.3"), "198.51.100.3");
    EXPECT_EQ(client_of("10.0.0.5", "198.51.100.1", "198.51.100.3"), "198.51.100.1");
    EXPECT_EQ(client_of("10.0.0.5", "", "garbage"), "10.0.0.5");
    EXPECT_EQ(client_of("10.0.0.5", "  ", "198.51.100.3"), "198.51.100.3");
}

TEST(ClientAddress, Ipv6ProxyAndMappedProxy) {
    EXPECT_EQ(client_of("2001:db8:feed::1", "198.51.100.1"), "198.51.100.1");
    EXPECT_EQ(client_of("::ffff:10.0.0.5", "198.51.100.1"), "198.51.100.1");
    EXPECT_EQ(client_of("2001:db8:beef::1", "198.51.100.1"), "2001:db8:beef::1");
}

}  // namespace
}  // namespace seshook
