#pragma once

#include <atomic>
#include <functional>
#include <string_view>

namespace seshook {

/// Whether the daemon should be sent callbacks now: its listeners are up, its spool can be
/// written, and it is not draining for a stop. Read by /readyz from any thread.
class readiness {
public:
    /// Says what failing_spool() reports; true means the spool cannot be written now. Call
    /// before serving; the check must be cheap and safe from any thread.
    void watch_spool(std::function<bool()> failing_spool) {
        failing_spool_ = std::move(failing_spool);
    }

    /// Records that every listener is bound and accepting.
    void set_listening() noexcept { listening_.store(true, std::memory_order_release); }

    /// Records that a stop began: no new callbacks should come here.
    void set_draining() noexcept { draining_.store(true, std::memory_order_release); }

    /// Returns why the daemon is not ready ("draining", "not_listening", "spool_failing"), or
    /// "" when it is.
    std::string_view not_ready_reason() const;

    /// Returns true when not_ready_reason() is "".
    bool ready() const { return not_ready_reason().empty(); }

private:
    std::atomic<bool> listening_{false};
    std::atomic<bool> draining_{false};
    std::function<bool()> failing_spool_;
};

}  // namespace seshook
