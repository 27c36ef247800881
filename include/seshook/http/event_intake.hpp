#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "seshook/event/record.hpp"

namespace seshook {

/// What became of a batch of validated events handed to an intake.
struct intake_result {
    enum class status {
        accepted,  // kept (stored or queued) as the durability mode promises: answer 200
        full,      // the spool has no room: answer 503 and let the sender retry
        failed,    // the spool could not store them: answer 500, nothing was kept
    };
    status outcome = status::accepted;
    std::size_t duplicates = 0;  // events already seen within the dedup window, not kept again
    std::string error;           // why, when not accepted
};

/// Takes the events of one accepted callback and says, once, when they are safe. Either keeps
/// them in memory and answers at once, or commits them to the spool and answers after the
/// commit, on the spool's thread. Safe to call from several threads at once.
class event_intake {
public:
    using done_fn = std::function<void(intake_result)>;

    virtual ~event_intake() = default;

    /// Takes `records`; calls `done` exactly once, perhaps before returning.
    virtual void take(std::vector<record_ptr> records, done_fn done) = 0;
};

}  // namespace seshook
