#include "seshook/sinks/log_sink.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <string>
#include <string_view>
#include <utility>

namespace seshook {
namespace {

// Escapes control characters, so that a crafted value cannot forge or break log lines.
std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            out += fmt::format("\\x{:02x}", byte);
        } else {
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace

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

}  // namespace seshook
