#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "seshook/http/callback_handler.hpp"

namespace seshook {

/// One answered request, as the access log writes it.
struct access_entry {
    std::string_view peer;    // the TCP peer's address
    std::string_view method;  // "POST"; "-" when the request line was not read
    std::string_view target;  // masked (see mask_target()); "-" when not read
    unsigned status = 0;
    std::size_t body_bytes = 0;             // of the request body, as received
    std::chrono::microseconds duration{0};  // from the start of the request to its answer
    std::string_view outcome;               // "ok", or the error code of the answer
};

/// Turns the access log (`[log] access`) on or off; thread-safe.
void set_access_log(bool on) noexcept;

/// Returns true when each answered request is to be logged.
bool access_log_on() noexcept;

/// Returns what became of a request by its answer: "ok" for a 2xx, otherwise the `error` code
/// of its body ("not_found", "invalid_json", ...), or "error" when the body has none.
std::string outcome_of(const http_answer& answer);

/// Writes the line of one request at info: "[access] 127.0.0.1 POST /callback/<masked> 200 512
/// bytes 1.250 ms ok" in text format, the same as fields in json format.
void log_access(const access_entry& entry);

}  // namespace seshook
