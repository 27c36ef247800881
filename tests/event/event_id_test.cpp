#include "seshook/event/event_id.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <string>

namespace seshook {
namespace {

event_identity sample() {
    return {"qcloudses-30-251200670-date-20220601142439-8jolHvR2XcXC1", "user@example.com", "click",
            "1654064683", "https://www.example.com/a"};
}

TEST(EventId, IsThirtyTwoLowercaseHexDigits) {
    const std::string id = make_event_id(sample());
    ASSERT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(EventId, IsTheDocumentedDigest) {
    // The id is persisted by sinks and compared across restarts and versions, so its recipe is
    // fixed: SHA-256 of the parts (address lowercased), each written as "<length>:<bytes>",
    // first 16 bytes as hex.
    const std::string joined =
        "56:qcloudses-30-251200670-date-20220601142439-8jolHvR2XcXC1"
        "16:user@example.com"
        "5:click"
        "10:1654064683"
        "25:https://www.example.com/a";
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    ASSERT_EQ(EVP_Digest(joined.data(), joined.size(), digest.data(), &size, EVP_sha256(), nullptr),
              1);
    std::string expected;
    for (int i = 0; i < 16; ++i) {
        char pair[3];
        std::snprintf(pair, sizeof pair, "%02x", digest[i]);
        expected += pair;
    }
    event_identity identity = sample();
    identity.email = "User@Example.COM";
    EXPECT_EQ(make_event_id(identity), expected);
}

TEST(EventId, IsStableAndIgnoresTheCaseOfTheAddress) {
    event_identity upper = sample();
    upper.email = "USER@EXAMPLE.COM";
    EXPECT_EQ(make_event_id(sample()), make_event_id(sample()));
    EXPECT_EQ(make_event_id(sample()), make_event_id(upper));
}

TEST(EventId, DoesNotConfuseBytesMovedBetweenParts) {
    // A separator byte inside the data must not let two identities join into the same text.
    event_identity first = sample();
    first.bulk_id = "a\x1f";
    first.email = "b";
    event_identity second = sample();
    second.bulk_id = "a";
    second.email =
        "\x1f"
        "b";
    EXPECT_NE(make_event_id(first), make_event_id(second));
    first.bulk_id = "ab";
    first.email = "";
    second.bulk_id = "a";
    second.email = "b";
    EXPECT_NE(make_event_id(first), make_event_id(second));
}

TEST(EventId, ChangesWithEachPart) {
    const std::string base = make_event_id(sample());
    auto changed = [](auto edit) {
        event_identity identity = sample();
        edit(identity);
        return make_event_id(identity);
    };
    EXPECT_NE(base, changed([](event_identity& i) { i.bulk_id = "qcloud-ses-00ff"; }));
    EXPECT_NE(base, changed([](event_identity& i) { i.email = "other@example.com"; }));
    EXPECT_NE(base, changed([](event_identity& i) { i.event = "open"; }));
    EXPECT_NE(base, changed([](event_identity& i) { i.timestamp = "1654064684"; }));
    EXPECT_NE(base, changed([](event_identity& i) { i.timestamp = ""; }));
    EXPECT_NE(base, changed([](event_identity& i) { i.link = "https://www.example.com/b"; }));
    EXPECT_NE(base, changed([](event_identity& i) { i.link = ""; }));
}

TEST(EventId, KeepsPartsApart) {
    // Moving text from one part to the next must not give the same id.
    const event_identity left{"ab", "c@example.com", "open", "1", ""};
    const event_identity right{"a", "bc@example.com", "open", "1", ""};
    EXPECT_NE(make_event_id(left), make_event_id(right));
    const event_identity early{"b", "e@example.com", "open", "1", "2"};
    const event_identity late{"b", "e@example.com", "open", "12", ""};
    EXPECT_NE(make_event_id(early), make_event_id(late));
}

}  // namespace
}  // namespace seshook
