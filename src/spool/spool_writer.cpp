#include "seshook/spool/spool_writer.hpp"

#include <exception>
#include <utility>

namespace seshook {
namespace {

std::uint64_t payload_bytes(const std::vector<record_ptr>& records) {
    std::uint64_t bytes = 0;
    for (const auto& rec : records) bytes += rec->event.raw.size();
    return bytes;
}

// Calls a submitter back; a callback that throws must not take the writer thread down.
void answer(const spool_writer::done_handler& done, submit_outcome outcome,
            error_reporter& errors) noexcept {
    try {
        done(std::move(outcome));
    } catch (const std::exception& e) {
        errors.report(std::string("a submit callback threw: ") + e.what());
    } catch (...) {
        errors.report("a submit callback threw");
    }
}

}  // namespace

std::string_view to_string(submit_status status) noexcept {
    switch (status) {
        case submit_status::committed:
            return "committed";
        case submit_status::full:
            return "full";
        case submit_status::failed:
            return "failed";
    }
    return "unknown";
}

spool_writer::spool_writer(event_spool& spool, committed_handler on_committed, options opts)
    : spool_(spool), on_committed_(std::move(on_committed)), options_(opts), errors_("spool") {
    thread_ = std::thread([this] { run(); });
}

spool_writer::~spool_writer() { stop(); }

void spool_writer::submit(std::vector<record_ptr> records, done_handler done) {
    const std::uint64_t bytes = payload_bytes(records);
    std::unique_lock lock(mutex_);

    // NOTE: pending bytes count as stored until their commit, so that concurrent submissions
    // cannot together pass the limit; duplicates among them are counted until then too.
    submit_outcome refusal;
    if (stopping_) {
        refusal.error = "the spool writer is stopped";
    } else if (spool_.stored_bytes() + pending_bytes_ + bytes > spool_.max_bytes()) {
        refusal.status = submit_status::full;
    } else {
        pending_bytes_ += bytes;
        pending_.push_back({std::move(records), std::move(done), bytes});
        lock.unlock();
        wake_.notify_one();
        return;
    }
    lock.unlock();
    answer(done, std::move(refusal), errors_);
}

void spool_writer::stop() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
}

std::uint64_t spool_writer::pending_bytes() const {
    const std::lock_guard lock(mutex_);
    return pending_bytes_;
}

void spool_writer::run() {
    auto next_maintenance = std::chrono::steady_clock::now() + options_.maintenance_interval;
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait_until(lock, next_maintenance, [&] { return !pending_.empty() || stopping_; });

        // Take everything submitted so far and commit it as one transaction.
        if (!pending_.empty()) {
            std::vector<submission> group;
            group.swap(pending_);
            lock.unlock();
            commit_group(group);
            lock.lock();
        }

        // Persist positions and compact on a clock, busy or not, so that a steady stream of
        // callbacks cannot keep delivered events in the spool.
        if (std::chrono::steady_clock::now() >= next_maintenance) {
            lock.unlock();
            maintain();
            lock.lock();
            next_maintenance = std::chrono::steady_clock::now() + options_.maintenance_interval;
        }
        if (stopping_ && pending_.empty()) break;
    }
    lock.unlock();

    // Last, what the sinks acknowledged until now.
    maintain();
}

void spool_writer::commit_group(std::vector<submission>& group) {
    std::vector<record_ptr> records;
    std::uint64_t bytes = 0;
    for (const auto& s : group) {
        records.insert(records.end(), s.records.begin(), s.records.end());
        bytes += s.bytes;
    }

    // Commit; on failure every submitter of the group hears why, and nothing was stored.
    event_spool::commit_result result;
    std::string error;
    try {
        result = spool_.commit(records, std::chrono::system_clock::now());
    } catch (const std::exception& e) {
        error = e.what();
        errors_.report(error);
    }
    commit_failing_.store(!error.empty(), std::memory_order_relaxed);

    // NOTE: the bytes leave the pending count only after commit() has added what it stored to
    // the spool's count, so that the sum of both never under-counts.
    {
        const std::lock_guard lock(mutex_);
        pending_bytes_ -= bytes;
    }

    // The stored events go on to the sinks before anyone answers 200.
    if (error.empty() && on_committed_) {
        std::vector<stored_event> stored;
        stored.reserve(records.size());
        for (std::size_t i = 0; i < records.size(); ++i) {
            if (result.seqs[i] != 0) stored.push_back({result.seqs[i], records[i]});
        }
        try {
            if (!stored.empty()) on_committed_(stored);
        } catch (const std::exception& e) {
            errors_.report(std::string("the committed handler threw: ") + e.what());
        }
    }

    // Answer each submitter with its own part of the result.
    std::size_t first = 0;
    for (auto& s : group) {
        submit_outcome outcome;
        if (error.empty()) {
            outcome.status = submit_status::committed;
            outcome.seqs.assign(
                result.seqs.begin() + static_cast<std::ptrdiff_t>(first),
                result.seqs.begin() + static_cast<std::ptrdiff_t>(first + s.records.size()));
            for (const auto seq : outcome.seqs) outcome.duplicates += seq == 0 ? 1 : 0;
        } else {
            outcome.error = error;
        }
        first += s.records.size();
        answer(s.done, std::move(outcome), errors_);
    }
}

void spool_writer::maintain() noexcept {
    try {
        spool_.persist_positions_and_compact(std::chrono::system_clock::now());
        maintenance_failing_.store(false, std::memory_order_relaxed);
    } catch (const std::exception& e) {
        maintenance_failing_.store(true, std::memory_order_relaxed);
        errors_.report(e.what());
    }
}

}  // namespace seshook
