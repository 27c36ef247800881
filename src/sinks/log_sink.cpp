#include "seshook/sinks/log_sink.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <string>
#include <string_view>
#include <utility>

#include "seshook/support/printable.hpp"

namespace seshook {
namespace {

// Each field of a payload is cut at this length in the log: a provider's diagnostic can run to
// megabytes, and one line that size buries the rest of the log. The file sink keeps it whole.
constexpr std::size_t max_logged_field = 200;

}  // namespace

log_sink::log_sink(std::string name, std::vector<std::string> events)
    : sink("log", std::move(name), std::move(events)) {}

delivery_outcome log_sink::do_consume(const record& r, std::stop_token /*stop*/) {
    // Formatting is skipped when info lines are not wanted.
    if (!spdlog::should_log(spdlog::level::info)) return delivery_outcome::delivered;

    const validated_event& e = r.event;
    const std::string_view flag = e.unknown_event ? " (unknown event)" : "";
    if (e.reason.empty()) {
        spdlog::info("[sink:{}] {} to {} id={}{}", name(), printable(e.event, max_logged_field),
                     printable(e.email, max_logged_field), e.id, flag);
    } else {
        spdlog::info("[sink:{}] {} to {} id={}{} reason={}", name(),
                     printable(e.event, max_logged_field), printable(e.email, max_logged_field),
                     e.id, flag, printable(e.reason, max_logged_field));
    }
    return delivery_outcome::delivered;
}

std::unique_ptr<sink> log_sink::from_config(const sink_config& common, table_reader& /*reader*/) {
    return std::make_unique<log_sink>(common.name, common.events);
}

}  // namespace seshook
