#include "seshook/metrics/answer_reason.hpp"

#include <array>

namespace seshook {
namespace {

// NOTE: in the order of the enum, which the static_assert below and a unit test hold it to.
constexpr std::array<std::string_view, answer_reason_count> labels{
    "other",
    "accepted",
    "duplicate",
    "healthz",
    "readyz",
    "not_ready",
    "metrics",
    "invalid_json",
    "too_deep",
    "duplicate_key",
    "not_an_event",
    "empty_batch",
    "batch_too_large",
    "missing_field",
    "wrong_type",
    "invalid_value",
    "unknown_event",
    "eventid_mismatch",
    "body_too_large",
    "header_too_large",
    "malformed_request",
    "invalid_gzip",
    "unsupported_encoding",
    "account_not_allowed",
    "not_found",
    "method_not_allowed",
    "forbidden",
    "rate_limited",
    "overloaded",
    "spool_full",
    "spool_failed",
};
static_assert(labels.back() == "spool_failed", "one label for each answer_reason");

}  // namespace

std::string_view to_string(answer_reason reason) noexcept {
    const auto index = static_cast<std::size_t>(reason);
    return index < labels.size() ? labels[index] : labels[0];
}

answer_reason answer_reason_from_code(std::string_view code) noexcept {
    // NOTE: only refused requests come here, with their code; accepted ones name their reason
    // directly, so the common answers pay for no search.
    for (std::size_t i = 1; i < labels.size(); ++i) {
        if (labels[i] == code) return static_cast<answer_reason>(i);
    }
    return answer_reason::other;
}

bool is_rejection(answer_reason reason) noexcept {
    return reason >= answer_reason::invalid_json && reason <= answer_reason::account_not_allowed;
}

}  // namespace seshook
