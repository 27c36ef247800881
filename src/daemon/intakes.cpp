#include "seshook/daemon/intakes.hpp"

#include <utility>

namespace seshook {

void memory_intake::take(std::vector<record_ptr> records, done_fn done) {
    // Leave out the events seen within the window, the earlier ones of this batch among them.
    intake_result result;
    if (recent_ != nullptr) {
        const auto now = std::chrono::steady_clock::now();
        std::erase_if(records, [&](const record_ptr& r) {
            const bool repeat = !recent_->first_sighting(r->event.id, now);
            result.duplicates += repeat ? 1 : 0;
            return repeat;
        });
    }

    // Queue the rest; nothing waits for a disk, so the answer comes at once.
    if (metrics_ != nullptr) {
        for (const auto& r : records) metrics_->count_accepted(r->event.type);
    }
    sinks_.dispatch(records);
    done(std::move(result));
}

void spool_intake::take(std::vector<record_ptr> records, done_fn done) {
    // NOTE: the writer answers on its own thread once the group commit holding these events is
    // done, and has handed the stored ones to the sinks by then.
    writer_.submit(std::move(records), [done = std::move(done)](submit_outcome outcome) {
        intake_result result;
        result.duplicates = outcome.duplicates;
        result.error = std::move(outcome.error);
        switch (outcome.status) {
            case submit_status::committed:
                result.outcome = intake_result::status::accepted;
                break;
            case submit_status::full:
                result.outcome = intake_result::status::full;
                break;
            case submit_status::failed:
                result.outcome = intake_result::status::failed;
                break;
        }
        done(std::move(result));
    });
}

}  // namespace seshook
