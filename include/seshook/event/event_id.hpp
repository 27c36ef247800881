#pragma once

#include <string>
#include <string_view>

namespace seshook {

/// The parts of an event that identify it (SPEC.md, "Identity of an event").
struct event_identity {
    std::string_view bulk_id;
    std::string_view email;  // compared without regard to case
    std::string_view event;
    std::string_view timestamp;  // canonical decimal digits, "" when absent
    std::string_view link;
};

/// Returns a stable 32-hex-digit digest of the identity, so that a repeated delivery of the same
/// event gets the same id: the first 128 bits of the SHA-256 of each part written as
/// "<length>:<bytes>", in the order above, with the address lowercased.
std::string make_event_id(const event_identity& identity);

}  // namespace seshook
