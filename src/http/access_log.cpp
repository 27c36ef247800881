#include "seshook/http/access_log.hpp"

#include <fmt/format.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "seshook/support/logging.hpp"
#include "seshook/support/printable.hpp"

namespace seshook {
namespace {

std::atomic<bool> access_log_enabled{false};

// Targets longer than this are cut in the log line.
constexpr std::size_t max_logged_target = 200;

}  // namespace

void set_access_log(bool on) noexcept { access_log_enabled.store(on, std::memory_order_relaxed); }

bool access_log_on() noexcept { return access_log_enabled.load(std::memory_order_relaxed); }

std::string outcome_of(const http_answer& answer) {
    if (answer.status >= 200 && answer.status < 300) return "ok";
    const auto body = nlohmann::json::parse(answer.body, nullptr, false);
    if (body.is_object()) {
        const auto code = body.find("error");
        if (code != body.end() && code->is_string()) return code->get<std::string>();
    }
    return "error";
}

void log_access(const access_entry& entry) {
    const double milliseconds = static_cast<double>(entry.duration.count()) / 1000.0;
    const std::string target = printable(entry.target, max_logged_target);
    const std::string text =
        fmt::format("{} {} {} {} {} bytes {:.3f} ms {}", entry.peer, entry.method, target,
                    entry.status, entry.body_bytes, milliseconds, entry.outcome);
    const nlohmann::ordered_json fields{
        {"peer", entry.peer},       {"method", entry.method},         {"target", target},
        {"status", entry.status},   {"body_bytes", entry.body_bytes}, {"duration_ms", milliseconds},
        {"outcome", entry.outcome},
    };
    log_fields("access", text, fields);
}

}  // namespace seshook
