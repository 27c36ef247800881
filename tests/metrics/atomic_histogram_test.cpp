#include "seshook/metrics/atomic_histogram.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <thread>
#include <vector>

namespace seshook {
namespace {

TEST(AtomicHistogram, CountsEachValueInTheFirstBucketItFitsCumulatively) {
    atomic_histogram h({0.1, 1, 10});
    for (const double v : {0.05, 0.1, 0.5, 1.0, 3.0, 50.0}) h.observe(v);

    const auto collected = h.collect();
    ASSERT_EQ(collected.bucket.size(), 4u);
    EXPECT_EQ(collected.bucket[0].upper_bound, 0.1);
    EXPECT_EQ(collected.bucket[0].cumulative_count, 2u);  // "le": 0.1 itself is in
    EXPECT_EQ(collected.bucket[1].cumulative_count, 4u);
    EXPECT_EQ(collected.bucket[2].cumulative_count, 5u);
    EXPECT_TRUE(std::isinf(collected.bucket[3].upper_bound));
    EXPECT_EQ(collected.bucket[3].cumulative_count, 6u);
    EXPECT_EQ(collected.sample_count, 6u);
    EXPECT_DOUBLE_EQ(collected.sample_sum, 54.65);
}

TEST(AtomicHistogram, LosesNoObservationFromConcurrentThreads) {
    atomic_histogram h({1, 2});
    constexpr int threads = 4;
    constexpr int each = 20000;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&h, t] {
            for (int i = 0; i < each; ++i) h.observe(t % 2 == 0 ? 0.5 : 1.5);
        });
    }
    for (auto& w : workers) w.join();

    const auto collected = h.collect();
    EXPECT_EQ(collected.sample_count, static_cast<std::uint64_t>(threads * each));
    EXPECT_EQ(collected.bucket[0].cumulative_count, static_cast<std::uint64_t>(2 * each));
    EXPECT_DOUBLE_EQ(collected.sample_sum, 2 * each * 0.5 + 2 * each * 1.5);
}

TEST(AtomicHistogram, RefusesBoundsThatDoNotIncrease) {
    EXPECT_THROW(atomic_histogram({1, 1}), std::invalid_argument);
    EXPECT_THROW(atomic_histogram({2, 1}), std::invalid_argument);
    EXPECT_THROW(atomic_histogram({1, INFINITY}), std::invalid_argument);
    EXPECT_NO_THROW(atomic_histogram({}));
}

}  // namespace
}  // namespace seshook
