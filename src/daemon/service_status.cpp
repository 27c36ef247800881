#include "seshook/daemon/service_status.hpp"

#include <fmt/format.h>

namespace seshook {

std::string service_status(std::string_view listening, const handler_counters& counters,
                           const std::vector<const sink*>& sinks) {
    std::string text =
        fmt::format("listening on {}; {} events accepted, {} repeats, {} requests rejected",
                    listening, counters.events_accepted.load(), counters.duplicate_events.load(),
                    counters.requests_rejected.load());
    for (const sink* s : sinks) {
        const auto& c = s->counters();
        text += fmt::format("; sink {}: {} delivered, {} failed", s->name(), c.delivered.load(),
                            c.failed.load());
        // Only the forward sink dead-letters; the others would always show zero.
        if (const auto dead = c.dead_lettered.load(); dead > 0) {
            text += fmt::format(", {} dead-lettered", dead);
        }
    }
    return text;
}

}  // namespace seshook
