#include "seshook/support/error_reporter.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "support/log_capture.hpp"

namespace seshook {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

TEST(ErrorReporter, LogsFirstFailureWithTag) {
    testing::log_capture log;
    error_reporter errors("sink:file");

    errors.report("cannot write to var/events.jsonl");

    ASSERT_THAT(log.lines(), SizeIs(1));
    EXPECT_EQ(log.lines()[0], "error [sink:file] cannot write to var/events.jsonl");
    EXPECT_EQ(errors.count(), 1u);
}

TEST(ErrorReporter, CountsEveryFailureButLogsOncePerInterval) {
    testing::log_capture log;
    error_reporter errors("forward", std::chrono::hours(1));

    for (int i = 0; i < 5; ++i) errors.report("connection refused");

    EXPECT_THAT(log.lines(), SizeIs(1));
    EXPECT_EQ(errors.count(), 5u);
}

TEST(ErrorReporter, SaysHowManyWereSuppressed) {
    testing::log_capture log;
    const auto interval = std::chrono::milliseconds(300);
    error_reporter errors("forward", interval);

    errors.report("first");
    errors.report("second");
    errors.report("third");
    std::this_thread::sleep_for(interval + std::chrono::milliseconds(50));
    errors.report("fourth");

    const auto lines = log.lines();
    ASSERT_THAT(lines, SizeIs(2));
    EXPECT_EQ(lines[1], "error [forward] fourth (2 similar errors suppressed)");
}

TEST(ErrorReporter, SaysHowManyWentUnloggedWhenItGoesAway) {
    testing::log_capture log;
    {
        error_reporter errors("sink:events", std::chrono::hours(1));
        for (int i = 0; i < 4; ++i) errors.report("queue full");
    }
    const auto lines = log.lines();
    ASSERT_THAT(lines, SizeIs(2));
    EXPECT_EQ(lines[1], "error [sink:events] 3 more similar errors since the last one logged");
}

TEST(ErrorReporter, LogsAtWarnWhenAskedTo) {
    testing::log_capture log;
    {
        error_reporter warnings("listener", std::chrono::hours(1), report_level::warn);
        warnings.report("too many connections from 203.0.113.7");
        warnings.report("too many connections from 203.0.113.7");
    }
    const auto lines = log.lines();
    ASSERT_THAT(lines, SizeIs(2));
    EXPECT_EQ(lines[0], "warning [listener] too many connections from 203.0.113.7");
    EXPECT_EQ(lines[1], "warning [listener] 1 more similar warnings since the last one logged");
}

TEST(ErrorReporter, KeepsPayloadTextVerbatim) {
    testing::log_capture log;
    error_reporter errors("schema");

    errors.report("bad {} {0} {:>10} %s text");

    EXPECT_THAT(log.text(), HasSubstr("[schema] bad {} {0} {:>10} %s text"));
}

TEST(ErrorReporter, CountsFromManyThreads) {
    error_reporter errors("threads", std::chrono::hours(1));
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 250; ++i) errors.report("failure");
        });
    }
    for (auto& t : threads) t.join();

    EXPECT_EQ(errors.count(), 1000u);
}

}  // namespace
}  // namespace seshook
