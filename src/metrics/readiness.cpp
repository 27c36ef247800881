#include "seshook/metrics/readiness.hpp"

namespace seshook {

std::string_view readiness::not_ready_reason() const {
    // A stop outranks the rest: the daemon will not come back to serve.
    if (draining_.load(std::memory_order_acquire)) return "draining";
    if (!listening_.load(std::memory_order_acquire)) return "not_listening";
    if (failing_spool_ && failing_spool_()) return "spool_failing";
    return {};
}

}  // namespace seshook
