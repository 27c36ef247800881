#include "seshook/support/error_reporter.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace seshook {

error_reporter::error_reporter(std::string component, std::chrono::milliseconds interval,
                               spdlog::level::level_enum level)
    : component_(std::move(component)), interval_(interval), level_(level) {}

error_reporter::~error_reporter() {
    // What was only counted since the last logged failure would otherwise never show.
    if (suppressed_ == 0) return;
    try {
        spdlog::log(level_, "[{}] {} more similar errors since the last one logged", component_,
                    suppressed_);
    } catch (...) {
    }
}

void error_reporter::report(std::string_view what) {
    count_.fetch_add(1, std::memory_order_relaxed);

    // Decide under the lock whether this failure is logged or only counted.
    std::uint64_t suppressed = 0;
    {
        const std::lock_guard lock(mutex_);
        const auto now = std::chrono::steady_clock::now();
        const bool never_logged = last_logged_ == std::chrono::steady_clock::time_point{};
        if (!never_logged && now - last_logged_ < interval_) {
            ++suppressed_;
            return;
        }
        last_logged_ = now;
        suppressed = std::exchange(suppressed_, 0);
    }

    // NOTE: `what` may carry payload text, so it is always an argument, never the format.
    if (suppressed == 0) {
        spdlog::log(level_, "[{}] {}", component_, what);
    } else {
        spdlog::log(level_, "[{}] {} ({} similar errors suppressed)", component_, what, suppressed);
    }
}

}  // namespace seshook
