#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "seshook/event/record.hpp"
#include "seshook/spool/event_spool.hpp"
#include "seshook/support/error_reporter.hpp"

namespace seshook {

/// What became of one submission.
enum class submit_status {
    committed,  // every record is stored (or was a duplicate): answer 200
    full,       // the spool has no room for it: answer 503, nothing was stored
    failed,     // the spool could not store it: answer 500, nothing was stored
};

/// Returns the name of the status, e.g. "committed".
std::string_view to_string(submit_status status) noexcept;

struct submit_outcome {
    submit_status status = submit_status::failed;
    std::size_t duplicates = 0;       // records skipped as seen within the dedup window
    std::vector<std::uint64_t> seqs;  // one per record when committed, 0 for a duplicate
    std::string error;                // why, when failed
};

/// The one thread that writes to the spool. Submissions queue up while a transaction commits;
/// the thread then takes all of them and commits them together in one transaction (group
/// commit), so that one fsync serves many callbacks.
class spool_writer {
public:
    /// Receives the events of each commit, duplicates left out, in seq order; called on the
    /// writer thread before the submitters hear of the commit. Must not throw.
    using committed_handler = std::function<void(std::span<const stored_event>)>;
    using done_handler = std::function<void(submit_outcome)>;

    struct options {
        /// How often positions are persisted and the spool compacted, busy or idle.
        std::chrono::milliseconds maintenance_interval = std::chrono::seconds(1);
    };

    /// Starts the writer thread for `spool`, which must outlive the writer.
    spool_writer(event_spool& spool, committed_handler on_committed, options opts);
    spool_writer(event_spool& spool, committed_handler on_committed)
        : spool_writer(spool, std::move(on_committed), options{}) {}
    ~spool_writer();
    spool_writer(const spool_writer&) = delete;
    spool_writer& operator=(const spool_writer&) = delete;

    /// Queues the records for the next commit; `done` is called once, on the writer thread,
    /// when they are committed or have failed, or at once (on the caller's thread) when the
    /// spool is full or the writer is stopped. Thread-safe; never blocks on the disk.
    void submit(std::vector<record_ptr> records, done_handler done);

    /// Commits what is pending, persists the positions, compacts, and joins the thread.
    void stop();

    /// Returns the payload bytes submitted but not yet committed.
    std::uint64_t pending_bytes() const;

    /// Returns true while the spool cannot be written: the last commit or the last maintenance
    /// (positions, compaction) failed. Cheap; safe from any thread.
    bool failing() const noexcept {
        return commit_failing_.load(std::memory_order_relaxed) ||
               maintenance_failing_.load(std::memory_order_relaxed);
    }

private:
    struct submission {
        std::vector<record_ptr> records;
        done_handler done;
        std::uint64_t bytes = 0;
    };

    void run();
    void commit_group(std::vector<submission>& group);
    void maintain() noexcept;

    event_spool& spool_;
    committed_handler on_committed_;
    options options_;
    error_reporter errors_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<submission> pending_;
    std::uint64_t pending_bytes_ = 0;
    bool stopping_ = false;
    std::atomic<bool> commit_failing_{false};
    std::atomic<bool> maintenance_failing_{false};
    std::thread thread_;
};

}  // namespace seshook
