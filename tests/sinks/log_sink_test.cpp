#include "seshook/sinks/log_sink.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "support/log_capture.hpp"
#include "support/recording_sink.hpp"

namespace seshook {
namespace {

using ::testing::HasSubstr;
using testing::log_capture;
using testing::make_test_record;
using ::testing::Not;
using ::testing::SizeIs;

TEST(LogSink, LogsTypeRecipientIdAndReason) {
    log_capture log;
    log_sink s("audit", {});
    const record r = make_test_record("bounce", "user@example.com", 1654064683,
                                      "551 5.1.1 recipient is not exist");

    EXPECT_EQ(s.consume(r, {}), delivery_outcome::delivered);

    ASSERT_THAT(log.lines(), SizeIs(1));
    EXPECT_EQ(log.lines()[0], "info [sink:audit] bounce to user@example.com id=" + r.event.id +
                                  " reason=551 5.1.1 recipient is not exist");
}

TEST(LogSink, LeavesOutAnAbsentReason) {
    log_capture log;
    log_sink s("audit", {});
    const record r = make_test_record("open", "user@example.com");

    s.consume(r, {});

    ASSERT_THAT(log.lines(), SizeIs(1));
    EXPECT_EQ(log.lines()[0], "info [sink:audit] open to user@example.com id=" + r.event.id);
}

TEST(LogSink, FlagsAnUnknownEvent) {
    log_capture log;
    log_sink s("audit", {});

    s.consume(make_test_record("processed"), {});

    EXPECT_THAT(log.text(), HasSubstr("processed to user@example.com"));
    EXPECT_THAT(log.text(), HasSubstr("(unknown event)"));
}

TEST(LogSink, PayloadTextIsNeitherAFormatNorANewLine) {
    log_capture log;
    log_sink s("audit", {});

    s.consume(make_test_record("bounce", "a{}b@example.com", 1, "bad {0} {:>9}\ninfo forged"), {});

    ASSERT_THAT(log.lines(), SizeIs(1));
    EXPECT_THAT(log.lines()[0], HasSubstr("a{}b@example.com"));
    EXPECT_THAT(log.lines()[0], HasSubstr("reason=bad {0} {:>9}\\x0ainfo forged"));
}

TEST(LogSink, CutsAHugeReasonSoOneEventCannotFloodTheLog) {
    log_capture log;
    log_sink s("audit", {});

    s.consume(make_test_record("bounce", "user@example.com", 1, std::string(600'000, 'x')), {});

    ASSERT_THAT(log.lines(), SizeIs(1));
    EXPECT_LT(log.lines()[0].size(), 400u);
    EXPECT_THAT(log.lines()[0], HasSubstr("xxx..."));
}

TEST(LogSink, WritesNothingWhenInfoIsOff) {
    log_capture log;
    spdlog::set_level(spdlog::level::warn);
    log_sink s("audit", {});

    EXPECT_EQ(s.consume(make_test_record(), {}), delivery_outcome::delivered);

    EXPECT_THAT(log.text(), Not(HasSubstr("[sink:audit]")));
}

}  // namespace
}  // namespace seshook
