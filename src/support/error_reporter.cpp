#include "seshook/support/error_reporter.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace seshook {

namespace {

spdlog::level::level_enum spdlog_level(report_level level) {
    return level == report_level::warn ? spdlog::level::warn : spdlog::level::err;
}

}  // namespace

error_reporter::error_reporter(std::string component, std::chrono::milliseconds interval,
                               report_level level)
    : component_(std::move(component)), interval_(interval), level_(level) {}

error_reporter::~error_reporter() {
    // What was only counted since the last logged failure would otherwise never show.
    if (suppressed_ == 0) return;
    try {
        spdlog::log(spdlog_level(level_), "[{}] {} more similar {} since the last one logged",
                    component_, suppressed_, level_ == report_level::warn ? "warnings" : "errors");
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
        spdlog::log(spdlog_level(level_), "[{}] {}", component_, what);
    } else {
        spdlog::log(spdlog_level(level_), "[{}] {} ({} similar {} suppressed)", component_, what,
                    suppressed, level_ == report_level::warn ? "warnings" : "errors");
    }
}

}  // namespace seshook
