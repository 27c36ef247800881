#include "seshook/auth/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace seshook {

rate_limiter::rate_limiter(double rate, double burst, std::size_t max_clients, now_fn now)
    : rate_(rate),
      burst_(std::max(1.0, burst)),
      max_per_shard_(std::max<std::size_t>(1, max_clients / shard_count)),
      refill_time_(std::chrono::duration_cast<clock::duration>(
          std::chrono::duration<double>(burst_ / rate_))),
      now_(std::move(now)) {}

void rate_limiter::forget_idle(shard& s, clock::time_point now) {
    while (!s.order.empty()) {
        const auto found = s.buckets.find(s.order.back());
        if (now - found->second.seen < refill_time_) return;
        s.buckets.erase(found);
        s.order.pop_back();
    }
}

rate_limiter::decision rate_limiter::take(std::string_view client) {
    const auto now = now_();
    shard& s = shards_[text_hash{}(client) % shard_count];
    const std::lock_guard lock(s.mutex);

    // Drop the buckets that are full again, then find this client's, or make room for it.
    forget_idle(s, now);
    auto found = s.buckets.find(client);
    if (found == s.buckets.end()) {
        if (s.buckets.size() >= max_per_shard_) {
            s.buckets.erase(s.order.back());
            s.order.pop_back();
        }
        s.order.emplace_front(client);
        found = s.buckets.emplace(s.order.front(), bucket{burst_, now, s.order.begin()}).first;
    } else {
        s.order.splice(s.order.begin(), s.order, found->second.in_order);
    }

    // Refill for the time since the client was last seen, then take a token if there is one.
    bucket& b = found->second;
    const std::chrono::duration<double> elapsed = now - b.seen;
    b.tokens = std::min(burst_, b.tokens + std::max(0.0, elapsed.count()) * rate_);
    b.seen = now;
    if (b.tokens >= 1.0) {
        b.tokens -= 1.0;
        return {};
    }
    const double wait = std::ceil((1.0 - b.tokens) / rate_);
    return {false, std::chrono::seconds(std::max<long long>(1, static_cast<long long>(wait)))};
}

std::size_t rate_limiter::tracked() const {
    std::size_t total = 0;
    for (const auto& s : shards_) {
        const std::lock_guard lock(s.mutex);
        total += s.buckets.size();
    }
    return total;
}

}  // namespace seshook
