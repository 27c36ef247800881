#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <string_view>

#include "seshook/event/event_type.hpp"
#include "seshook/metrics/answer_reason.hpp"
#include "seshook/metrics/atomic_histogram.hpp"
#include "seshook/metrics/exposition.hpp"

namespace seshook {

/// The metrics that the HTTP endpoint and the intakes update as they work: requests by status
/// and reason, their durations, events accepted by type, refused bodies by reason, repeats.
/// Every series is resolved when this is built, so counting is an atomic add, with no lock, no
/// allocation and no search of labels. Safe to call from any thread.
class endpoint_metrics {
public:
    /// The upper bounds of the request duration buckets, in seconds.
    static const std::vector<double>& duration_buckets();

    /// Registers the families in `out`, which must outlive this object.
    explicit endpoint_metrics(exposition& out);
    endpoint_metrics(const endpoint_metrics&) = delete;
    endpoint_metrics& operator=(const endpoint_metrics&) = delete;

    /// Counts one answer with HTTP status `status` given for `reason`, `took` after its request
    /// began; a refused body also counts as rejected.
    void count_answer(unsigned status, answer_reason reason,
                      std::chrono::steady_clock::duration took) noexcept;

    /// Counts one event accepted (new, not a repeat) of `type`.
    void count_accepted(event_type type) noexcept;

    /// Counts `events` repeats answered 200 and not delivered again.
    void count_duplicates(std::size_t events) noexcept;

private:
    // The statuses the endpoint answers; any other one is counted through a slower path.
    static constexpr std::array<unsigned, 11> statuses{200, 400, 403, 404, 405, 413,
                                                       415, 429, 431, 500, 503};
    static constexpr std::size_t event_types = 9;  // event_type::unknown to event_type::deferred

    prometheus::Counter& requests_for(unsigned status, answer_reason reason);

    prometheus::Family<prometheus::Counter>& requests_;
    // NOTE: the pairs an answer usually has are made at start; a pair met for the first time
    // later is made once and kept here, so that it too is found without a search afterwards.
    std::array<std::array<std::atomic<prometheus::Counter*>, statuses.size()>, answer_reason_count>
        by_answer_{};
    std::array<prometheus::Counter*, answer_reason_count> rejected_{};  // null: not a rejection
    std::array<prometheus::Counter*, event_types> accepted_{};
    prometheus::Counter* duplicates_ = nullptr;
    atomic_histogram durations_;
};

}  // namespace seshook
