#include "seshook/daemon/daemon.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace seshook {
namespace {

using ::testing::HasSubstr;

TEST(OpenEndpointWarning, WarnsForAPublicAddressWithoutSecrets) {
    const auth_config open;
    for (const char* bound : {"0.0.0.0", "::", "203.0.113.7", "2001:db8::1", "fd00::2"}) {
        const auto warning = open_endpoint_warning(open, bound);
        ASSERT_TRUE(warning.has_value()) << bound;
        EXPECT_THAT(*warning, HasSubstr("accepts callbacks from anyone"));
        EXPECT_THAT(*warning, HasSubstr(bound));
    }
}

TEST(OpenEndpointWarning, LoopbackOrASecretNeedsNoWarning) {
    const auth_config open;
    for (const char* bound : {"127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"}) {
        EXPECT_FALSE(open_endpoint_warning(open, bound).has_value()) << bound;
    }
    auth_config with_token;
    with_token.tokens.add("k3J9-xQ2_vL8.tR5~wZ1");
    EXPECT_FALSE(open_endpoint_warning(with_token, "0.0.0.0").has_value());
    auth_config with_user;
    with_user.basic_users.add("tencent:0123456789abcdef");
    EXPECT_FALSE(open_endpoint_warning(with_user, "::").has_value());
}

TEST(OpenEndpointWarning, AllowedNetworksAloneAreNoSecret) {
    // NOTE: a network list narrows who may connect, but addresses are easier to come by than a
    // secret (a shared cloud, a proxy): the warning stays.
    auth_config networks_only;
    networks_only.allow_networks.add(parse_network("192.0.2.0/24").value());
    EXPECT_TRUE(open_endpoint_warning(networks_only, "0.0.0.0").has_value());
}

}  // namespace
}  // namespace seshook
