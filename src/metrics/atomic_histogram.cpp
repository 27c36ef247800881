#include "seshook/metrics/atomic_histogram.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

namespace seshook {

atomic_histogram::atomic_histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
        if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
            throw std::invalid_argument(
                "atomic_histogram: the bounds must be finite and strictly increasing");
        }
    }
}

void atomic_histogram::observe(double value) noexcept {
    // The first bucket whose bound is not below the value (Prometheus buckets are "le").
    const auto bucket = static_cast<std::size_t>(
        std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
    counts_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
}

prometheus::ClientMetric::Histogram atomic_histogram::collect() const {
    prometheus::ClientMetric::Histogram histogram;
    histogram.bucket.reserve(bounds_.size() + 1);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        cumulative += counts_[i].load(std::memory_order_relaxed);
        prometheus::ClientMetric::Bucket bucket;
        bucket.cumulative_count = cumulative;
        bucket.upper_bound =
            i < bounds_.size() ? bounds_[i] : std::numeric_limits<double>::infinity();
        histogram.bucket.push_back(bucket);
    }
    histogram.sample_count = cumulative;
    histogram.sample_sum = sum_.load(std::memory_order_relaxed);
    return histogram;
}

}  // namespace seshook
