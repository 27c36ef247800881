#include "seshook/event/recent_ids.hpp"

#include <algorithm>

namespace seshook {

using std::chrono::steady_clock;

recent_ids::recent_ids(steady_clock::duration window, std::size_t capacity)
    : window_(window), capacity_(std::max<std::size_t>(capacity, 1)) {}

bool recent_ids::first_sighting(std::string_view id, steady_clock::time_point now) {
    if (window_ <= steady_clock::duration::zero()) return true;

    const std::lock_guard lock(mutex_);
    forget_expired(now);
    if (ids_.contains(id)) return false;

    // Make room, then remember the id. Callers on other threads may pass a `now` a little older
    // than the newest sighting; it is raised to it, so that expiry can stop at the first id
    // still in its window.
    while (order_.size() >= capacity_) {
        forget_oldest();
        forgotten_early_.fetch_add(1, std::memory_order_relaxed);
    }
    const auto seen = order_.empty() ? now : std::max(now, order_.back().seen);
    order_.push_back(sighting{std::string(id), seen});
    ids_.insert(order_.back().id);
    return true;
}

std::size_t recent_ids::size() const {
    const std::lock_guard lock(mutex_);
    return order_.size();
}

void recent_ids::forget_expired(steady_clock::time_point now) {
    // Each id is popped once, so the cost is amortised over the sightings.
    while (!order_.empty() && order_.front().seen + window_ <= now) forget_oldest();
}

void recent_ids::forget_oldest() {
    ids_.erase(order_.front().id);
    order_.pop_front();
}

}  // namespace seshook
