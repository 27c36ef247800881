#include "seshook/auth/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace seshook {
namespace {

using namespace std::chrono_literals;

// A clock that moves only when the test moves it.
struct manual_clock {
    rate_limiter::clock::time_point now{std::chrono::hours(1)};
    rate_limiter::now_fn fn() {
        return [this] { return now; };
    }
};

TEST(RateLimiter, AllowsTheBurstThenRefusesWithRetryAfter) {
    manual_clock clock;
    rate_limiter limiter(1, 3, 1000, clock.fn());
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.take("192.0.2.1").allowed) << i;
    const auto refused = limiter.take("192.0.2.1");
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.retry_after, 1s);
}

TEST(RateLimiter, RefillsAtTheRate) {
    manual_clock clock;
    rate_limiter limiter(2, 2, 1000, clock.fn());
    EXPECT_TRUE(limiter.take("c").allowed);
    EXPECT_TRUE(limiter.take("c").allowed);
    EXPECT_FALSE(limiter.take("c").allowed);

    // Half a second gives one token at 2 a second, and only one.
    clock.now += 500ms;
    EXPECT_TRUE(limiter.take("c").allowed);
    EXPECT_FALSE(limiter.take("c").allowed);

    // A long pause refills no more than the burst.
    clock.now += 1h;
    EXPECT_TRUE(limiter.take("c").allowed);
    EXPECT_TRUE(limiter.take("c").allowed);
    EXPECT_FALSE(limiter.take("c").allowed);
}

TEST(RateLimiter, RetryAfterIsWholeSecondsUntilTheNextToken) {
    manual_clock clock;
    // One request every 10 seconds.
    rate_limiter limiter(0.1, 1, 1000, clock.fn());
    EXPECT_TRUE(limiter.take("c").allowed);
    EXPECT_EQ(limiter.take("c").retry_after, 10s);
    clock.now += 2500ms;
    EXPECT_EQ(limiter.take("c").retry_after, 8s);  // 7.5 s, rounded up
    clock.now += 7500ms;
    EXPECT_TRUE(limiter.take("c").allowed);

    // Fast rates still ask for a second at least.
    rate_limiter fast(1000, 1, 1000, clock.fn());
    EXPECT_TRUE(fast.take("c").allowed);
    EXPECT_EQ(fast.take("c").retry_after, 1s);
}

TEST(RateLimiter, ClientsHaveBucketsOfTheirOwn) {
    manual_clock clock;
    rate_limiter limiter(1, 1, 1000, clock.fn());
    EXPECT_TRUE(limiter.take("192.0.2.1").allowed);
    EXPECT_FALSE(limiter.take("192.0.2.1").allowed);
    EXPECT_TRUE(limiter.take("192.0.2.2").allowed);
    EXPECT_TRUE(limiter.take("2001:db8::1").allowed);
    EXPECT_EQ(limiter.tracked(), 3u);
}

TEST(RateLimiter, DropsBucketsThatAreFullAgain) {
    manual_clock clock;
    rate_limiter limiter(1, 4, 1000, clock.fn());
    for (int i = 0; i < 100; ++i) limiter.take("client-" + std::to_string(i));
    EXPECT_EQ(limiter.tracked(), 100u);

    // After the time to refill a whole burst, each bucket is as a new one would be; any
    // request sweeps its shard, and one to every shard sweeps them all.
    clock.now += 4s;
    for (int i = 0; i < 400; ++i) limiter.take("later-" + std::to_string(i));
    EXPECT_EQ(limiter.tracked(), 400u);

    // A bucket not yet full again stays.
    clock.now += 3s;
    limiter.take("later-0");
    EXPECT_EQ(limiter.tracked(), 400u);
    clock.now += 1s;
    limiter.take("late");
    EXPECT_LT(limiter.tracked(), 400u);
}

TEST(RateLimiter, ForgetsTheLeastRecentClientPastTheCap) {
    manual_clock clock;
    // 16 shards of one client each.
    rate_limiter limiter(1, 1, 16, clock.fn());
    for (int i = 0; i < 1000; ++i) {
        limiter.take("client-" + std::to_string(i));
        clock.now += 1ms;
    }
    EXPECT_LE(limiter.tracked(), 16u);
}

TEST(RateLimiter, RecentClientKeepsItsBucketWhileOthersComeAndGo) {
    manual_clock clock;
    rate_limiter limiter(1, 1, 1000, clock.fn());
    EXPECT_TRUE(limiter.take("busy").allowed);
    for (int i = 0; i < 50; ++i) {
        clock.now += 10ms;
        limiter.take("other-" + std::to_string(i));
        EXPECT_FALSE(limiter.take("busy").allowed) << i;
    }
}

TEST(RateLimiter, CountsExactlyFromManyThreads) {
    manual_clock clock;  // never moves: no refill
    rate_limiter limiter(1, 1000, 100000, clock.fn());
    std::atomic<int> allowed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 500; ++i) {
                if (limiter.take("shared").allowed) allowed.fetch_add(1);
                limiter.take("own-" + std::to_string(i));
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(allowed.load(), 1000);
}

}  // namespace
}  // namespace seshook
