#include "seshook/support/time_format.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

namespace seshook {
namespace {

using namespace std::chrono;

TEST(FormatRfc3339Ms, WritesUtcWithMilliseconds) {
    // 2022-06-01T06:24:43Z is the timestamp of SPEC.md's example.
    const system_clock::time_point when = system_clock::from_time_t(1654064683) + 7ms;
    EXPECT_EQ(format_rfc3339_ms(when), "2022-06-01T06:24:43.007Z");
}

TEST(FormatRfc3339Ms, TruncatesBelowAMillisecond) {
    const system_clock::time_point when = system_clock::from_time_t(0) + 999us;
    EXPECT_EQ(format_rfc3339_ms(when), "1970-01-01T00:00:00.000Z");
}

TEST(FormatRfc3339Ms, NowHasTheDocumentedShape) {
    EXPECT_THAT(format_rfc3339_ms(system_clock::now()),
                ::testing::MatchesRegex(
                    R"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z)"));
}

}  // namespace
}  // namespace seshook
