#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "seshook/support/log_format.hpp"

namespace seshook {

/// A log message split at its `[component]` tag.
struct tagged_message {
    std::string_view component;  // "daemon", "session:17"; "" when the message has no tag
    std::string_view message;    // the rest, without the space after the tag
};

/// Splits "[component] message"; a message without a leading tag is all message.
tagged_message split_component(std::string_view text) noexcept;

/// Writes each log message as one JSON object a line: `time` (RFC 3339 UTC with milliseconds),
/// `level`, `component` (the message's `[tag]`, split out) and `message`, escaped as JSON
/// requires whatever the message holds (invalid UTF-8 is replaced). A message of the structured
/// logger (log_fields()) carries its own fields, which are written beside time and level.
class json_log_formatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
    std::unique_ptr<spdlog::formatter> clone() const override;
};

/// Sets up spdlog's default logger (stderr) at the named level, in `format`.
void set_up_logging(const std::string& level, log_format format = log_format::text);

/// Changes the level and the format of the loggers set_up_logging() made (SIGHUP); lines being
/// written on other threads meanwhile come out whole, in one format or the other.
void change_logging(const std::string& level, log_format format);

/// Returns the format of the log now.
log_format current_log_format() noexcept;

/// Logs one line at info for `component`: in text format "[component] text", in json format the
/// `fields` (an object) beside time, level, component and `message` (the text).
void log_fields(std::string_view component, std::string_view text,
                const nlohmann::ordered_json& fields);

}  // namespace seshook
