#pragma once

#include <prometheus/client_metric.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace seshook {

/// A Prometheus histogram whose observe() takes no lock: one atomic count per bucket and an
/// atomic sum. prometheus-cpp's own Histogram takes a mutex on every observation, which every
/// I/O thread would contend for on each request.
///
/// A scrape that runs while observations land may see a bucket count and the sum of slightly
/// different moments; each is exact on its own, and the cumulative counts it reports never
/// decrease from bucket to bucket.
class atomic_histogram {
public:
    /// Creates a histogram with the given upper bounds, strictly increasing, without +Inf (it
    /// is implied); throws std::invalid_argument otherwise.
    explicit atomic_histogram(std::vector<double> upper_bounds);

    /// Counts one observation of `value`.
    void observe(double value) noexcept;

    /// Returns the histogram as prometheus-cpp collects it: cumulative buckets, +Inf last.
    prometheus::ClientMetric::Histogram collect() const;

    const std::vector<double>& upper_bounds() const noexcept { return bounds_; }

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // one per bound, then one for +Inf
    std::atomic<double> sum_{0.0};
};

}  // namespace seshook
