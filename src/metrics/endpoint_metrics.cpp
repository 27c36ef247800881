#include "seshook/metrics/endpoint_metrics.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace seshook {
namespace {

using prometheus::BuildCounter;

// The status each reason is normally answered with, so that its series shows (at 0) from the
// start; 0 for a reason without one.
unsigned usual_status(answer_reason reason) {
    if (reason == answer_reason::other) return 0;
    if (reason <= answer_reason::readyz || reason == answer_reason::metrics) return 200;
    if (is_rejection(reason)) {
        switch (reason) {
            case answer_reason::body_too_large:
                return 413;
            case answer_reason::header_too_large:
                return 431;
            case answer_reason::unsupported_encoding:
                return 415;
            case answer_reason::account_not_allowed:
                return 403;
            default:
                return 400;
        }
    }
    switch (reason) {
        case answer_reason::not_found:
            return 404;
        case answer_reason::method_not_allowed:
            return 405;
        case answer_reason::forbidden:
            return 403;
        case answer_reason::rate_limited:
            return 429;
        case answer_reason::spool_failed:
            return 500;
        default:
            return 503;  // not_ready, overloaded, spool_full
    }
}

// Returns the index of `status` in `statuses`, or statuses.size() when it is not there.
template <std::size_t N>
std::size_t status_slot(const std::array<unsigned, N>& statuses, unsigned status) {
    return static_cast<std::size_t>(std::find(statuses.begin(), statuses.end(), status) -
                                    statuses.begin());
}

}  // namespace

const std::vector<double>& endpoint_metrics::duration_buckets() {
    // From a cached answer (well under a millisecond) to an fsync on a slow disk and a request
    // that took its whole timeout.
    static const std::vector<double> buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  5,     10};
    return buckets;
}

endpoint_metrics::endpoint_metrics(exposition& out)
    : requests_(BuildCounter()
                    .Name("seshook_http_requests_total")
                    .Help("Requests answered by the callback listeners, by status and reason.")
                    .Register(out.registry())),
      durations_(duration_buckets()) {
    // Each reason with its usual status, and each refused body's reason.
    auto& rejected = BuildCounter()
                         .Name("seshook_rejected_total")
                         .Help("Callback bodies refused, by reason (kept in the rejects file).")
                         .Register(out.registry());
    for (std::size_t r = 0; r < answer_reason_count; ++r) {
        const auto reason = static_cast<answer_reason>(r);
        if (const unsigned status = usual_status(reason); status != 0) {
            by_answer_[r][status_slot(statuses, status)].store(&requests_for(status, reason));
        }
        if (is_rejection(reason)) {
            rejected_[r] = &rejected.Add({{"reason", std::string(to_string(reason))}});
        }
    }

    // Events by type; the name of an unknown event is the sender's text, so it shows only as
    // "unknown".
    auto& accepted =
        BuildCounter()
            .Name("seshook_events_accepted_total")
            .Help("Events accepted and kept for the sinks (repeats left out), by type.")
            .Register(out.registry());
    for (std::size_t t = 0; t < event_types; ++t) {
        const auto type = static_cast<event_type>(t);
        accepted_[t] = &accepted.Add({{"type", std::string(to_string(type))}});
    }
    duplicates_ =
        &BuildCounter()
             .Name("seshook_duplicate_events_total")
             .Help("Events seen before within the dedup window, answered 200 and not delivered.")
             .Register(out.registry())
             .Add({});
    out.add_histogram("seshook_http_request_duration_seconds",
                      "Time from the start of a request to its answer, in seconds.", durations_);
}

prometheus::Counter& endpoint_metrics::requests_for(unsigned status, answer_reason reason) {
    // NOTE: Family::Add returns the series already made for the same labels, so two threads
    // that meet a new pair at once share one series.
    return requests_.Add(
        {{"code", std::to_string(status)}, {"reason", std::string(to_string(reason))}});
}

void endpoint_metrics::count_answer(unsigned status, answer_reason reason,
                                    std::chrono::steady_clock::duration took) noexcept {
    const auto r = static_cast<std::size_t>(reason);
    if (r >= answer_reason_count) return;
    try {
        // The series of this pair, made now if it is the first of its kind.
        const std::size_t slot = status_slot(statuses, status);
        if (slot == statuses.size()) {
            requests_for(status, reason).Increment();
        } else {
            prometheus::Counter* counter = by_answer_[r][slot].load(std::memory_order_acquire);
            if (counter == nullptr) {
                counter = &requests_for(status, reason);
                by_answer_[r][slot].store(counter, std::memory_order_release);
            }
            counter->Increment();
        }
    } catch (...) {
        // NOTE: only making a new series can throw (out of memory); a count is not worth more.
    }
    if (rejected_[r] != nullptr) rejected_[r]->Increment();
    durations_.observe(std::chrono::duration<double>(took).count());
}

void endpoint_metrics::count_accepted(event_type type) noexcept {
    const auto t = static_cast<std::size_t>(type);
    accepted_[t < event_types ? t : 0]->Increment();
}

void endpoint_metrics::count_duplicates(std::size_t events) noexcept {
    if (events > 0) duplicates_->Increment(static_cast<double>(events));
}

}  // namespace seshook
