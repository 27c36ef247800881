#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace seshook {

/// The log level of an error_reporter's lines.
enum class report_level {
    warn,   // the client's mistake, or abuse: refused, nothing of ours failed
    error,  // our own failure
};

/// Counts the failures of one component and logs them at error level (or warn), at most once per
/// interval, saying how many were suppressed in between. Safe to call from any thread.
class error_reporter {
public:
    /// Creates a reporter whose log lines carry the tag `[component]`.
    explicit error_reporter(std::string component,
                            std::chrono::milliseconds interval = std::chrono::seconds(1),
                            report_level level = report_level::error);

    /// Logs how many failures were counted but not logged since the last logged one.
    ~error_reporter();
    error_reporter(const error_reporter&) = delete;
    error_reporter& operator=(const error_reporter&) = delete;

    /// Counts one failure and logs it unless another was logged within the interval.
    void report(std::string_view what);

    /// Returns how many failures were reported in total.
    std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

private:
    std::string component_;
    std::chrono::milliseconds interval_;
    report_level level_;
    std::atomic<std::uint64_t> count_{0};
    std::mutex mutex_;
    std::chrono::steady_clock::time_point last_logged_{};
    std::uint64_t suppressed_ = 0;
};

}  // namespace seshook
