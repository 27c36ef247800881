#include "seshook/support/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>
#include <utility>

#include "seshook/support/time_format.hpp"

namespace seshook {
namespace {

// The text format: local time with its offset, the level, then the message with its tag.
constexpr const char* text_pattern = "%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v";

// The logger of log_fields(), whose messages in json format are objects of fields already.
constexpr std::string_view structured_logger_name = "structured";

// What set_up_logging() made; empty until then (tests log through their own loggers).
struct logging_state {
    std::mutex mutex;  // guards the pointers, not the logging through them
    std::shared_ptr<spdlog::sinks::sink> sink;
    std::shared_ptr<spdlog::logger> structured;
    std::atomic<log_format> format{log_format::text};
};

logging_state& state() {
    static logging_state instance;
    return instance;
}

void apply_format(spdlog::sinks::sink& sink, log_format format) {
    if (format == log_format::json) {
        sink.set_formatter(std::make_unique<json_log_formatter>());
    } else {
        sink.set_pattern(text_pattern);
    }
}

void append(spdlog::memory_buf_t& dest, std::string_view text) {
    dest.append(text.data(), text.data() + text.size());
}

// NOTE: `replace` turns invalid UTF-8 into U+FFFD instead of throwing: a log line may quote
// bytes a client sent, and a formatter must never throw.
std::string dump(const nlohmann::ordered_json& value) {
    return value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

std::string_view to_string(log_format format) noexcept {
    return format == log_format::json ? "json" : "text";
}

tagged_message split_component(std::string_view text) noexcept {
    if (text.size() < 3 || text.front() != '[') return {{}, text};
    const auto close = text.find(']');
    if (close == std::string_view::npos || close == 1) return {{}, text};
    const std::string_view tag = text.substr(1, close - 1);
    if (tag.find_first_of(" [") != std::string_view::npos) return {{}, text};
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    return {tag, rest};
}

void json_log_formatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    const auto level = spdlog::level::to_string_view(msg.level);
    nlohmann::ordered_json head{{"time", format_rfc3339_ms(msg.time)},
                                {"level", std::string_view(level.data(), level.size())}};
    std::string line = dump(head);

    // A structured message is an object of its own fields: they follow time and level.
    const std::string_view logger(msg.logger_name.data(), msg.logger_name.size());
    if (logger == structured_logger_name && payload.size() > 2 && payload.front() == '{') {
        line.pop_back();
        append(dest, line);
        append(dest, ",");
        append(dest, payload.substr(1));
        append(dest, "\n");
        return;
    }

    // Any other message: its tag becomes the component.
    const auto [component, message] = split_component(payload);
    head["component"] = component;
    head["message"] = message;
    append(dest, dump(head));
    append(dest, "\n");
}

std::unique_ptr<spdlog::formatter> json_log_formatter::clone() const {
    return std::make_unique<json_log_formatter>();
}

void set_up_logging(const std::string& level, log_format format) {
    auto& s = state();
    const std::lock_guard lock(s.mutex);
    s.sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    apply_format(*s.sink, format);
    s.format.store(format);

    auto logger = std::make_shared<spdlog::logger>("seshook", s.sink);
    s.structured = std::make_shared<spdlog::logger>(std::string(structured_logger_name), s.sink);
    for (const auto& l : {logger, s.structured}) {
        l->set_level(spdlog::level::from_str(level));
        l->flush_on(spdlog::level::info);
    }
    spdlog::set_default_logger(std::move(logger));
}

void change_logging(const std::string& level, log_format format) {
    auto& s = state();
    const std::lock_guard lock(s.mutex);
    spdlog::set_level(spdlog::level::from_str(level));
    if (!s.sink) return;
    s.structured->set_level(spdlog::level::from_str(level));
    if (s.format.exchange(format) != format) apply_format(*s.sink, format);
}

log_format current_log_format() noexcept { return state().format.load(); }

void log_fields(std::string_view component, std::string_view text,
                const nlohmann::ordered_json& fields) {
    std::shared_ptr<spdlog::logger> structured;
    {
        auto& s = state();
        const std::lock_guard lock(s.mutex);
        if (s.format.load() == log_format::json) structured = s.structured;
    }
    if (!structured) {
        spdlog::info("[{}] {}", component, text);
        return;
    }
    if (!structured->should_log(spdlog::level::info)) return;
    nlohmann::ordered_json line{{"component", component}, {"message", text}};
    for (const auto& [key, value] : fields.items()) line[key] = value;
    structured->info("{}", dump(line));
}

}  // namespace seshook
