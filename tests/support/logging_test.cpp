#include "seshook/support/logging.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace seshook {
namespace {

using ::testing::MatchesRegex;
using ::testing::SizeIs;

// Formats messages through json_log_formatter into a string, one line each.
class json_log {
public:
    json_log() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_)) {
        sink_->set_formatter(std::make_unique<json_log_formatter>());
    }

    /// Returns a logger called `name` that writes here.
    spdlog::logger logger(const std::string& name = "seshook") {
        spdlog::logger l(name, sink_);
        l.set_level(spdlog::level::trace);
        return l;
    }

    /// Returns each line written so far, parsed; a line that is not JSON fails the test.
    std::vector<nlohmann::json> lines() const {
        std::vector<nlohmann::json> result;
        std::istringstream in(stream_.str());
        for (std::string line; std::getline(in, line);) {
            auto parsed = nlohmann::json::parse(line, nullptr, false);
            EXPECT_FALSE(parsed.is_discarded()) << "not JSON: " << line;
            result.push_back(std::move(parsed));
        }
        return result;
    }

    std::string text() const { return stream_.str(); }

private:
    std::ostringstream stream_;
    std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

TEST(SplitComponent, TakesTheLeadingTag) {
    const auto split = split_component("[daemon] seshook 0.1.0 starting");
    EXPECT_EQ(split.component, "daemon");
    EXPECT_EQ(split.message, "seshook 0.1.0 starting");
    EXPECT_EQ(split_component("[session:17] closed").component, "session:17");
}

TEST(SplitComponent, LeavesAMessageWithoutTagWhole) {
    for (const std::string_view text : {"no tag here", "[] empty", "[two words] x", "[open", ""}) {
        const auto split = split_component(text);
        EXPECT_EQ(split.component, "") << text;
        EXPECT_EQ(split.message, text);
    }
}

TEST(JsonLogFormatter, WritesTimeLevelComponentAndMessage) {
    json_log log;
    auto logger = log.logger();

    logger.warn("[http] rejected callback from {}: {}", "127.0.0.1", "invalid_json");

    const auto lines = log.lines();
    ASSERT_THAT(lines, SizeIs(1));
    EXPECT_THAT(lines[0]["time"].get<std::string>(),
                MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"));
    EXPECT_EQ(lines[0]["level"], "warning");
    EXPECT_EQ(lines[0]["component"], "http");
    EXPECT_EQ(lines[0]["message"], "rejected callback from 127.0.0.1: invalid_json");
    EXPECT_EQ(log.text().back(), '\n');
}

TEST(JsonLogFormatter, EscapesQuotesBackslashesAndControlCharacters) {
    json_log log;
    auto logger = log.logger();
    const std::string hostile = "unknown event name '\"}{\"level\":\"fake' \\ \t\n\x01 end";

    logger.info("[http] {}", hostile);

    const auto lines = log.lines();
    ASSERT_THAT(lines, SizeIs(1));  // the newline inside stays inside the one line
    EXPECT_EQ(lines[0]["message"], hostile);
    EXPECT_EQ(lines[0]["level"], "info");
}

TEST(JsonLogFormatter, ReplacesInvalidUtf8InsteadOfThrowing) {
    json_log log;
    auto logger = log.logger();

    logger.error("[sink:file] bad bytes \xff\xfe here");

    const auto lines = log.lines();
    ASSERT_THAT(lines, SizeIs(1));
    EXPECT_EQ(lines[0]["message"], "bad bytes \xEF\xBF\xBD\xEF\xBF\xBD here");
    EXPECT_EQ(lines[0]["component"], "sink:file");
}

TEST(JsonLogFormatter, WritesTheFieldsOfAStructuredMessage) {
    json_log log;
    auto logger = log.logger("structured");

    logger.info(R"({"component":"access","message":"POST /callback 200","status":200})");

    const auto lines = log.lines();
    ASSERT_THAT(lines, SizeIs(1));
    EXPECT_EQ(lines[0]["component"], "access");
    EXPECT_EQ(lines[0]["status"], 200);
    EXPECT_EQ(lines[0]["level"], "info");
    EXPECT_TRUE(lines[0].contains("time"));
}

TEST(JsonLogFormatter, CloneFormatsTheSame) {
    json_log_formatter original;
    const auto copy = original.clone();
    spdlog::details::log_msg msg("seshook", spdlog::level::info, "[daemon] stopped");
    spdlog::memory_buf_t out;

    copy->format(msg, out);

    const auto line = nlohmann::json::parse(std::string(out.data(), out.size()));
    EXPECT_EQ(line["component"], "daemon");
    EXPECT_EQ(line["message"], "stopped");
}

TEST(LogFormat, NamesTheConfigWords) {
    EXPECT_EQ(to_string(log_format::text), "text");
    EXPECT_EQ(to_string(log_format::json), "json");
}

}  // namespace
}  // namespace seshook
