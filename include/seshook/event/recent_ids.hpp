#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

namespace seshook {

/// The event ids seen in the last `window`, for deduplication when there is no spool
/// (`durability = "memory"`). An id is remembered from its first sighting for the window; a
/// repeat does not extend it, as in the spool's `seen` table. Thread-safe.
///
/// Memory stays bounded: past `capacity` ids the oldest are forgotten before their window ends
/// (counted by forgotten_early()), so a repeat of one of them passes as new. Each id costs about
/// 150 bytes (for 32-hex-digit ids), so the default capacity holds about 150 MB at most.
class recent_ids {
public:
    static constexpr std::size_t default_capacity = 1'000'000;

    /// Remembers ids for `window` (zero or less: nothing is remembered, every sighting is the
    /// first), at most `capacity` of them (at least one).
    explicit recent_ids(std::chrono::steady_clock::duration window,
                        std::size_t capacity = default_capacity);

    /// Returns true when `id` was not seen in the window before `now`, and remembers it then;
    /// false for a repeat. Forgets the ids whose window has ended on the way.
    bool first_sighting(std::string_view id, std::chrono::steady_clock::time_point now);

    /// Returns how many ids are remembered now (expired ones may linger until the next call).
    std::size_t size() const;

    /// Returns how many ids were forgotten before their window ended, to stay under capacity.
    std::uint64_t forgotten_early() const noexcept {
        return forgotten_early_.load(std::memory_order_relaxed);
    }

    std::chrono::steady_clock::duration window() const noexcept { return window_; }
    std::size_t capacity() const noexcept { return capacity_; }

private:
    struct sighting {
        std::string id;
        std::chrono::steady_clock::time_point seen;
    };

    void forget_expired(std::chrono::steady_clock::time_point now);
    void forget_oldest();

    const std::chrono::steady_clock::duration window_;
    const std::size_t capacity_;

    mutable std::mutex mutex_;
    // NOTE: the set holds views of the strings in `order_`. A deque never moves its elements
    // when it grows or shrinks at either end, so the views stay valid until the element is
    // popped, and it is always erased from the set first.
    std::deque<sighting> order_;  // oldest first; `seen` never decreases along it
    std::unordered_set<std::string_view> ids_;
    std::atomic<std::uint64_t> forgotten_early_{0};
};

}  // namespace seshook
