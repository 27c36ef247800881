#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace seshook {

/// A token bucket per client: each client may send `burst` requests at once, then `rate` a
/// second. Memory stays bounded: a bucket that has been idle long enough to be full again is
/// dropped (a full bucket is what a new client gets anyway), and past `max_clients` the least
/// recently seen client is forgotten. Safe to call from several threads at once; clients are
/// spread over shards, each with its own lock, so that threads seldom wait for one another.
class rate_limiter {
public:
    using clock = std::chrono::steady_clock;
    using now_fn = std::function<clock::time_point()>;

    /// What became of one request.
    struct decision {
        bool allowed = true;
        std::chrono::seconds retry_after{0};  // when refused: whole seconds until a token, >= 1
    };

    /// `rate` requests a second (above zero) with bursts of `burst` (at least 1); `now` is the
    /// clock, replaceable for tests.
    rate_limiter(double rate, double burst, std::size_t max_clients = 65536,
                 now_fn now = &clock::now);

    /// Takes one token from the bucket of `client`, or says how long to wait for one.
    decision take(std::string_view client);

    /// Returns how many clients have a bucket now.
    std::size_t tracked() const;

private:
    struct bucket {
        double tokens = 0;
        clock::time_point seen;
        std::list<std::string>::iterator in_order;  // its place in the shard's recency list
    };

    // Lets the map be searched with a string_view, with no copy of the client's address.
    struct text_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view text) const noexcept {
            return std::hash<std::string_view>{}(text);
        }
    };

    // NOTE: a shard's recency list runs from the most to the least recently seen client, so
    // that idle buckets are found at its back and dropping them is cheap.
    struct shard {
        mutable std::mutex mutex;
        std::unordered_map<std::string, bucket, text_hash, std::equal_to<>> buckets;
        std::list<std::string> order;
    };
    static constexpr std::size_t shard_count = 16;

    void forget_idle(shard& s, clock::time_point now);

    double rate_;
    double burst_;
    std::size_t max_per_shard_;
    clock::duration refill_time_;  // how long an empty bucket takes to be full again
    now_fn now_;
    std::array<shard, shard_count> shards_;
};

}  // namespace seshook
