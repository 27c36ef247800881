#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "seshook/event/event_id.hpp"
#include "seshook/event/event_type.hpp"
#include "seshook/event/record.hpp"
#include "seshook/sinks/sink.hpp"

namespace seshook::testing {

/// Builds a record of a realistic event without going through the schema: `raw` is the JSON of
/// the fields given, `id` their event id. Addresses are from example.com.
inline record make_test_record(std::string event = "delivered",
                               std::string email = "user@example.com",
                               std::int64_t timestamp = 1654064683, std::string reason = "") {
    validated_event e;
    e.type = event_type_from_name(event).value_or(event_type::unknown);
    e.unknown_event = e.type == event_type::unknown;
    e.event = std::move(event);
    e.email = std::move(email);
    e.bulk_id = "qcloudses-30-251200670-date-20220601142439-8jolHvR2XcXC1";
    e.reason = std::move(reason);
    e.timestamp = timestamp;

    nlohmann::ordered_json raw{
        {"event", e.event}, {"email", e.email}, {"bulkId", e.bulk_id}, {"timestamp", timestamp}};
    if (!e.reason.empty()) raw["reason"] = e.reason;
    e.raw = raw.dump();

    const std::string stamp = std::to_string(timestamp);
    e.id = make_event_id({e.bulk_id, e.email, e.event, stamp, e.link});
    return record{std::move(e), "2026-12-03T19:10:12.345Z", "127.0.0.1"};
}

/// Returns make_test_record() as a shared record.
template <typename... Args>
record_ptr make_test_record_ptr(Args&&... args) {
    return std::make_shared<const record>(make_test_record(std::forward<Args>(args)...));
}

/// A sink that keeps a copy of every record it takes. It can be made slow (a delay per record,
/// cut short when the stop token is requested) or held (consume waits until release()), and it
/// notes which thread calls it. Thread-safe.
class recording_sink : public sink {
public:
    explicit recording_sink(std::string name = "recording", std::vector<std::string> events = {})
        : sink("recording", std::move(name), std::move(events)) {}

    /// Makes every later consume take `delay` (or less, when stopping).
    void set_delay(std::chrono::milliseconds delay) {
        const std::lock_guard lock(mutex_);
        delay_ = delay;
    }

    /// Makes consume wait, before taking a record, until release() (or the stop token).
    /// Makes the next flush throw, as a failed fsync would.
    void fail_next_flush() {
        const std::lock_guard lock(mutex_);
        fail_next_flush_ = true;
    }

    void hold() {
        const std::lock_guard lock(mutex_);
        held_ = true;
    }

    void release() {
        {
            const std::lock_guard lock(mutex_);
            held_ = false;
        }
        changed_.notify_all();
    }

    /// Returns a copy of the records taken so far, in order.
    std::vector<record> records() const {
        const std::lock_guard lock(mutex_);
        return records_;
    }

    std::size_t count() const {
        const std::lock_guard lock(mutex_);
        return records_.size();
    }

    /// Waits until `n` records were taken; false when `timeout` passed first.
    bool wait_for_count(std::size_t n, std::chrono::milliseconds timeout) const {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return records_.size() >= n; });
    }

    /// Waits until consume was entered `n` times (held or not); false when `timeout` passed.
    bool wait_for_started(std::size_t n, std::chrono::milliseconds timeout) const {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return started_ >= n; });
    }

    /// Waits until reopen was called `n` times; false when `timeout` passed first.
    bool wait_for_reopens(std::size_t n, std::chrono::milliseconds timeout) const {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return reopens_ >= n; });
    }

    std::size_t opens() const { return locked(opens_); }
    std::size_t flushes() const { return locked(flushes_); }
    std::size_t reopens() const { return locked(reopens_); }
    std::size_t closes() const { return locked(closes_); }

    /// Returns the thread of the last consume and of the last reopen.
    std::optional<std::thread::id> consume_thread() const { return locked(consume_thread_); }
    std::optional<std::thread::id> reopen_thread() const { return locked(reopen_thread_); }

protected:
    void do_open() override { bump(opens_); }

    delivery_outcome do_consume(const record& r, std::stop_token stop) override {
        std::unique_lock lock(mutex_);
        ++started_;
        consume_thread_ = std::this_thread::get_id();
        changed_.notify_all();

        // Wait while held, then for the delay; either ends early when stopping.
        changed_.wait(lock, stop, [&] { return !held_; });
        if (delay_.count() > 0) {
            changed_.wait_for(lock, stop, delay_, [] { return false; });
        }
        records_.push_back(r);
        changed_.notify_all();
        return delivery_outcome::delivered;
    }

    void do_flush(bool) override {
        bump(flushes_);
        const std::lock_guard lock(mutex_);
        if (std::exchange(fail_next_flush_, false)) {
            throw std::runtime_error("recording_sink: flush fails on purpose");
        }
    }

    void do_reopen() override {
        {
            const std::lock_guard lock(mutex_);
            ++reopens_;
            reopen_thread_ = std::this_thread::get_id();
        }
        changed_.notify_all();
    }

    void do_close() override { bump(closes_); }

private:
    template <typename T>
    T locked(const T& value) const {
        const std::lock_guard lock(mutex_);
        return value;
    }

    void bump(std::size_t& counter) {
        {
            const std::lock_guard lock(mutex_);
            ++counter;
        }
        changed_.notify_all();
    }

    mutable std::mutex mutex_;
    mutable std::condition_variable_any changed_;
    std::vector<record> records_;
    std::chrono::milliseconds delay_{0};
    bool held_ = false;
    bool fail_next_flush_ = false;
    std::size_t started_ = 0;
    std::size_t opens_ = 0;
    std::size_t flushes_ = 0;
    std::size_t reopens_ = 0;
    std::size_t closes_ = 0;
    std::optional<std::thread::id> consume_thread_;
    std::optional<std::thread::id> reopen_thread_;
};

}  // namespace seshook::testing
