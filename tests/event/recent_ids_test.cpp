#include "seshook/event/recent_ids.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace seshook {
namespace {

using namespace std::chrono_literals;
using std::chrono::steady_clock;

const steady_clock::time_point t0 = steady_clock::time_point{} + 1000h;

TEST(RecentIds, FirstSightingIsNewAndARepeatIsNot) {
    recent_ids ids(24h);
    EXPECT_TRUE(ids.first_sighting("a", t0));
    EXPECT_FALSE(ids.first_sighting("a", t0 + 1s));
    EXPECT_TRUE(ids.first_sighting("b", t0 + 1s));
    EXPECT_EQ(ids.size(), 2u);
}

TEST(RecentIds, ForgetsAnIdWhenItsWindowEnds) {
    recent_ids ids(10s);
    EXPECT_TRUE(ids.first_sighting("a", t0));
    EXPECT_FALSE(ids.first_sighting("a", t0 + 9999ms));
    EXPECT_TRUE(ids.first_sighting("a", t0 + 10s));
    EXPECT_EQ(ids.size(), 1u);
}

TEST(RecentIds, ARepeatDoesNotExtendTheWindow) {
    recent_ids ids(10s);
    EXPECT_TRUE(ids.first_sighting("a", t0));
    EXPECT_FALSE(ids.first_sighting("a", t0 + 8s));
    EXPECT_TRUE(ids.first_sighting("a", t0 + 11s));
}

TEST(RecentIds, ExpiredIdsAreDroppedOnTheNextSighting) {
    recent_ids ids(10s);
    for (int i = 0; i < 100; ++i) ids.first_sighting("id" + std::to_string(i), t0 + i * 1ms);
    EXPECT_EQ(ids.size(), 100u);
    EXPECT_TRUE(ids.first_sighting("later", t0 + 20s));
    EXPECT_EQ(ids.size(), 1u);
    EXPECT_EQ(ids.forgotten_early(), 0u);
}

TEST(RecentIds, PastTheCapacityTheOldestAreForgottenEarlyAndCounted) {
    recent_ids ids(24h, 3);
    EXPECT_TRUE(ids.first_sighting("a", t0));
    EXPECT_TRUE(ids.first_sighting("b", t0 + 1s));
    EXPECT_TRUE(ids.first_sighting("c", t0 + 2s));
    EXPECT_TRUE(ids.first_sighting("d", t0 + 3s));
    EXPECT_EQ(ids.size(), 3u);
    EXPECT_EQ(ids.forgotten_early(), 1u);

    // "a" was forgotten early, so its repeat passes as new (and pushes "b" out); "c" is kept.
    EXPECT_TRUE(ids.first_sighting("a", t0 + 4s));
    EXPECT_FALSE(ids.first_sighting("c", t0 + 5s));
    EXPECT_TRUE(ids.first_sighting("b", t0 + 6s));
    EXPECT_EQ(ids.forgotten_early(), 3u);
    EXPECT_EQ(ids.size(), 3u);
}

TEST(RecentIds, AZeroWindowRemembersNothing) {
    recent_ids ids(0s);
    EXPECT_TRUE(ids.first_sighting("a", t0));
    EXPECT_TRUE(ids.first_sighting("a", t0));
    EXPECT_EQ(ids.size(), 0u);
}

TEST(RecentIds, AnOlderNowFromAnotherThreadKeepsExpiryInOrder) {
    recent_ids ids(10s);
    EXPECT_TRUE(ids.first_sighting("a", t0 + 1s));
    EXPECT_TRUE(ids.first_sighting("b", t0));  // remembered as seen at t0 + 1s
    EXPECT_FALSE(ids.first_sighting("b", t0 + 10500ms));
    EXPECT_TRUE(ids.first_sighting("a", t0 + 11s));
    EXPECT_TRUE(ids.first_sighting("b", t0 + 11s));
}

TEST(RecentIds, ConcurrentSightingsOfOneIdHaveExactlyOneFirst) {
    recent_ids ids(24h);
    constexpr int threads = 8;
    constexpr int ids_per_thread = 2000;
    std::atomic<int> firsts{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&] {
            for (int i = 0; i < ids_per_thread; ++i) {
                if (ids.first_sighting("id" + std::to_string(i), steady_clock::now())) ++firsts;
            }
        });
    }
    for (auto& thread : pool) thread.join();
    EXPECT_EQ(firsts.load(), ids_per_thread);
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(ids_per_thread));
}

}  // namespace
}  // namespace seshook
