// libFuzzer target: raw bytes as the body of a callback, straight to the schema and the records.
// Faster than request_fuzzer, whose bodies first have to survive the HTTP parser, so it reaches
// deeper into the JSON reader and the validation.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "body_checks.hpp"
#include "seshook/event/record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    seshook::fuzz::check_callback_body(body);

    // A spool row or a records line may hold any bytes after a crash or a hand edit: rebuilding
    // a record from them either succeeds or says why, and never fails otherwise.
    try {
        seshook::rebuild_record(body, "2026-06-01T00:00:00.000Z", "203.0.113.7");
    } catch (const std::invalid_argument&) {
    }
    return 0;
}
