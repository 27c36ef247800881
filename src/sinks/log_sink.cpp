#include "seshook/sinks/log_sink.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "seshook/support/printable.hpp"

#include <string>
#include <string_view>
#include <utility>

namespace seshook {
log_sink::log_sink(std::string name, std::vector<std::string> events)
    : sink("log", std::move(name), std::move(events)) {}

delivery_outcome log_sink::do_consume(const record& r, std::stop_token /*stop*/) {
    // Formatting is skipped when info lines are not wanted.
    if (!spdlog::should_log(spdlog::level::info)) return delivery_outcome::delivered;

    const validated_event& e = r.event;
    const std::string_view flag = e.unknown_event ? " (unknown event)" : "";
    if (e.reason.empty()) {
        spdlog::info("[sink:{}] {} to {} id={}{}", name(), printable(e.event), printable(e.email),
                     e.id, flag);
    } else {
        spdlog::info("[sink:{}] {} to {} id={}{} reason={}", name(), printable(e.event),
                     printable(e.email), e.id, flag, printable(e.reason));
    }
    return delivery_outcome::delivered;
}

std::unique_ptr<sink> log_sink::from_config(const sink_config& common, table_reader& /*reader*/) {
    return std::make_unique<log_sink>(common.name, common.events);
}

}  // namespace seshook
