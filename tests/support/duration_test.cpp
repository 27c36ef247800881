#include "seshook/support/duration.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace seshook {
namespace {

using namespace std::chrono_literals;

TEST(ParseDuration, ReadsEachUnit) {
    EXPECT_EQ(parse_duration("250ms"), 250ms);
    EXPECT_EQ(parse_duration("10s"), 10s);
    EXPECT_EQ(parse_duration("5m"), 5min);
    EXPECT_EQ(parse_duration("24h"), 24h);
    EXPECT_EQ(parse_duration("0s"), 0ms);
}

TEST(ParseDuration, RefusesWhatIsNotADuration) {
    for (const char* text : {"", "10", "s", "-5s", "1.5s", "10 s", "10sec", "5d", "ms10"}) {
        EXPECT_FALSE(parse_duration(text).has_value()) << text;
    }
}

TEST(ParseDuration, RefusesAnOverflow) {
    EXPECT_FALSE(parse_duration("9223372036854775807h").has_value());
}

}  // namespace
}  // namespace seshook
