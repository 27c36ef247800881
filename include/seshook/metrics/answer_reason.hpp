#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace seshook {

/// Why the endpoint gave the answer it gave: the label `reason` of the request counter. The
/// error codes are those of the answers' JSON bodies ("error":"invalid_json").
enum class answer_reason : std::uint8_t {
    other,  // an answer that says no reason of its own; counted so that totals stay whole

    // Callbacks taken.
    accepted,   // every event of the body is new
    duplicate,  // some event of the body was seen before within the dedup window

    // The operations endpoints.
    healthz,
    readyz,
    not_ready,  // /readyz while draining, before listening, or with a failing spool
    metrics,

    // Callback bodies refused, and kept in the rejects file.
    invalid_json,
    too_deep,
    duplicate_key,
    not_an_event,
    empty_batch,
    batch_too_large,
    missing_field,
    wrong_type,
    invalid_value,
    unknown_event,
    eventid_mismatch,
    body_too_large,
    header_too_large,
    malformed_request,
    invalid_gzip,
    unsupported_encoding,
    account_not_allowed,

    // Requests refused by their head, before any body is read; nothing is kept.
    not_found,
    method_not_allowed,
    forbidden,
    rate_limited,
    overloaded,

    // Valid callbacks that could not be kept; the sender retries them.
    spool_full,
    spool_failed,
};

/// The number of answer_reason values.
inline constexpr std::size_t answer_reason_count =
    static_cast<std::size_t>(answer_reason::spool_failed) + 1;

/// Returns the label of the reason, e.g. "invalid_json".
std::string_view to_string(answer_reason reason) noexcept;

/// Returns the reason whose label is the error code `code` ("body_too_large"), or
/// answer_reason::other for a code it does not know.
answer_reason answer_reason_from_code(std::string_view code) noexcept;

/// Returns true for the reasons of a refused callback body, those counted as rejected.
bool is_rejection(answer_reason reason) noexcept;

}  // namespace seshook
