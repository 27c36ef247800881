#include "seshook/sinks/sink.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <stop_token>

#include "support/failing_sink.hpp"
#include "support/log_capture.hpp"
#include "support/recording_sink.hpp"

namespace seshook {
namespace {

using testing::failing_sink;
using ::testing::HasSubstr;
using testing::make_test_record;
using testing::recording_sink;

// A sink whose every hook throws, and whose consume answers what it is told.
class throwing_hooks_sink : public sink {
public:
    explicit throwing_hooks_sink(delivery_outcome answer = delivery_outcome::delivered)
        : sink("test", "hooks", {}), answer_(answer) {}

protected:
    delivery_outcome do_consume(const record&, std::stop_token) override { return answer_; }
    void do_flush(bool) override { throw std::runtime_error("flush broke"); }
    void do_reopen() override { throw std::runtime_error("reopen broke"); }
    void do_close() override { throw 42; }

private:
    delivery_outcome answer_;
};

TEST(Sink, WithoutFilterWantsEveryEvent) {
    recording_sink s("all");

    EXPECT_TRUE(s.wants(make_test_record("bounce")));
    EXPECT_TRUE(s.wants(make_test_record("processed")));
}

TEST(Sink, FilterTakesOnlyTheNamedEvents) {
    recording_sink s("bounces", {"bounce", "dropped"});

    EXPECT_TRUE(s.wants(make_test_record("bounce")));
    EXPECT_TRUE(s.wants(make_test_record("dropped")));
    EXPECT_FALSE(s.wants(make_test_record("delivered")));
    EXPECT_FALSE(s.wants(make_test_record("processed")));
}

TEST(Sink, CountsDeliveredRecords) {
    recording_sink s;

    EXPECT_EQ(s.consume(make_test_record(), {}), delivery_outcome::delivered);
    EXPECT_EQ(s.consume(make_test_record(), {}), delivery_outcome::delivered);

    EXPECT_EQ(s.counters().delivered.load(), 2u);
    EXPECT_EQ(s.counters().failed.load(), 0u);
    EXPECT_EQ(s.count(), 2u);
}

TEST(Sink, CountsDeadLetteredRecords) {
    throwing_hooks_sink s(delivery_outcome::dead_lettered);

    EXPECT_EQ(s.consume(make_test_record(), {}), delivery_outcome::dead_lettered);

    EXPECT_EQ(s.counters().dead_lettered.load(), 1u);
}

TEST(Sink, ConsumeTurnsAnExceptionIntoAFailureAndLogsIt) {
    testing::log_capture log;
    failing_sink s("broken");
    const record r = make_test_record();

    EXPECT_EQ(s.consume(r, {}), delivery_outcome::failed);

    EXPECT_EQ(s.counters().failed.load(), 1u);
    EXPECT_THAT(log.text(), HasSubstr("error [sink:broken] cannot take record " + r.event.id));
    EXPECT_THAT(log.text(), HasSubstr("fails on purpose"));
}

TEST(Sink, FailingOnTheNthRecordOnlyFailsThatOne) {
    testing::log_capture log;
    failing_sink s("third", 3);

    for (int i = 0; i < 5; ++i) s.consume(make_test_record(), {});

    EXPECT_EQ(s.counters().delivered.load(), 4u);
    EXPECT_EQ(s.counters().failed.load(), 1u);
}

TEST(Sink, OpenFailureNamesTheSink) {
    failing_sink s("broken");
    s.fail_open();

    try {
        s.open();
        FAIL() << "open() should have thrown";
    } catch (const std::exception& e) {
        EXPECT_THAT(e.what(), HasSubstr("sink 'broken'"));
        EXPECT_THAT(e.what(), HasSubstr("cannot open on purpose"));
    }
}

TEST(Sink, FlushReopenAndCloseNeverThrow) {
    testing::log_capture log;
    throwing_hooks_sink s;

    EXPECT_FALSE(s.flush());
    EXPECT_NO_THROW(s.reopen());
    EXPECT_NO_THROW(s.close());

    EXPECT_THAT(log.text(), HasSubstr("[sink:hooks] cannot flush: flush broke"));
}

}  // namespace
}  // namespace seshook
