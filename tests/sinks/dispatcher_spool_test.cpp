// The dispatcher in its at-least-once mode, against a real spool in a temporary folder.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "seshook/sinks/dispatcher.hpp"
#include "support/failing_sink.hpp"
#include "support/recording_sink.hpp"
#include "support/temp_dir.hpp"

namespace seshook {
namespace {

using namespace std::chrono_literals;
using testing::failing_sink;
using testing::make_test_record_ptr;
using testing::recording_sink;

// Generous bound for anything the test waits for; never reached when things work.
constexpr auto patience = std::chrono::seconds(10);

// A spool in a temporary folder, for the sinks named, and what the tests do with it.
class DispatcherWithSpool : public ::testing::Test {
protected:
    std::unique_ptr<event_spool> open_spool(std::vector<std::string> sinks) {
        event_spool::options options;
        options.path = dir_ / "spool.db";
        options.durability = spool_durability::write;
        options.sink_names = std::move(sinks);
        event_spool::open_report report;
        return event_spool::open(options, report);
    }

    // Commits `count` distinct events of type `event` and returns them as stored.
    static std::vector<stored_event> commit(event_spool& spool, int count, int first = 0,
                                            const std::string& event = "delivered") {
        std::vector<record_ptr> records;
        for (int i = first; i < first + count; ++i) {
            records.push_back(make_test_record_ptr(event, fmt::format("user{}@example.com", i)));
        }
        const auto result = spool.commit(records, std::chrono::system_clock::now());
        std::vector<stored_event> stored;
        for (std::size_t i = 0; i < records.size(); ++i) {
            if (result.seqs[i] != 0) stored.push_back({result.seqs[i], records[i]});
        }
        return stored;
    }

    // Waits until `sink` has acknowledged everything the spool holds.
    static bool wait_for_position(const event_spool& spool, std::string_view sink,
                                  std::uint64_t seq) {
        const auto deadline = std::chrono::steady_clock::now() + patience;
        while (spool.position(sink) < seq) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            std::this_thread::sleep_for(5ms);
        }
        return true;
    }

    // A dispatcher of the sinks whose undeliverable handler fails the test: with a spool,
    // nothing goes there.
    template <typename... Sinks>
    static dispatcher make_dispatcher(std::unique_ptr<Sinks>... given) {
        std::vector<std::unique_ptr<sink>> sinks;
        (sinks.push_back(std::move(given)), ...);
        return dispatcher(std::move(sinks), [](const record& r, std::string_view name,
                                               std::string_view why) {
            ADD_FAILURE() << "record " << r.event.id << " for " << name << " handed over: " << why;
        });
    }

    testing::temp_dir dir_;
};

std::vector<std::string> emails_of(const std::vector<record>& records) {
    std::vector<std::string> emails;
    for (const auto& r : records) emails.push_back(r.event.email);
    return emails;
}

std::vector<std::string> expected_emails(int first, int count) {
    std::vector<std::string> emails;
    for (int i = first; i < first + count; ++i) {
        emails.push_back(fmt::format("user{}@example.com", i));
    }
    return emails;
}

TEST_F(DispatcherWithSpool, QueuedEventsReachTheSinkAndMoveItsPosition) {
    auto spool = open_spool({"recording"});
    auto sink = std::make_unique<recording_sink>();
    auto* recorder = sink.get();
    auto d = make_dispatcher(std::move(sink));
    d.use_spool(*spool, true);
    d.start();

    d.dispatch(commit(*spool, 20));
    ASSERT_TRUE(recorder->wait_for_count(20, patience));
    EXPECT_EQ(emails_of(recorder->records()), expected_emails(0, 20));
    ASSERT_TRUE(wait_for_position(*spool, "recording", 20));
    EXPECT_GE(recorder->flushes(), 1u);
    EXPECT_TRUE(d.stop(1s));
}

TEST_F(DispatcherWithSpool, EachSinkResumesFromItsOwnPosition) {
    // An earlier run left 10 events; sink "ahead" had taken 6 of them, "behind" none.
    {
        auto spool = open_spool({"ahead", "behind"});
        commit(*spool, 10);
        spool->acknowledge("ahead", 6);
        spool->persist_positions_and_compact(std::chrono::system_clock::now());
    }
    auto spool = open_spool({"ahead", "behind"});
    auto ahead = std::make_unique<recording_sink>("ahead");
    auto behind = std::make_unique<recording_sink>("behind");
    auto* ahead_view = ahead.get();
    auto* behind_view = behind.get();
    auto d = make_dispatcher(std::move(ahead), std::move(behind));
    d.use_spool(*spool, false);
    d.start();

    // Each takes what it had not, then what comes next, in order and once.
    d.dispatch(commit(*spool, 5, 10));
    ASSERT_TRUE(ahead_view->wait_for_count(9, patience));
    ASSERT_TRUE(behind_view->wait_for_count(15, patience));
    EXPECT_TRUE(d.stop(5s));
    EXPECT_EQ(emails_of(ahead_view->records()), expected_emails(6, 9));
    EXPECT_EQ(emails_of(behind_view->records()), expected_emails(0, 15));
    EXPECT_EQ(spool->position("ahead"), 15u);
    EXPECT_EQ(spool->position("behind"), 15u);
}

TEST_F(DispatcherWithSpool, OverflowingQueueIsReadBackFromTheSpool) {
    auto spool = open_spool({"recording"});
    auto sink = std::make_unique<recording_sink>();
    auto* recorder = sink.get();
    recorder->hold();
    auto d = make_dispatcher(std::move(sink));
    d.set_queue_capacity("recording", 4);
    d.use_spool(*spool, false);
    d.start();

    // Far more than the queue holds, while the sink is held: nothing is refused or lost.
    for (int i = 0; i < 50; ++i) d.dispatch(commit(*spool, 2, 2 * i));
    recorder->release();
    ASSERT_TRUE(recorder->wait_for_count(100, patience));
    EXPECT_TRUE(d.stop(5s));
    EXPECT_EQ(emails_of(recorder->records()), expected_emails(0, 100));
}

TEST_F(DispatcherWithSpool, FailedEventIsRetriedAndTheRestWaitsForIt) {
    auto spool = open_spool({"failing"});
    auto sink = std::make_unique<failing_sink>("failing", 3);  // the third call fails
    auto* failing = sink.get();
    auto d = make_dispatcher(std::move(sink));
    d.use_spool(*spool, false);
    d.start();

    d.dispatch(commit(*spool, 5));
    ASSERT_TRUE(wait_for_position(*spool, "failing", 5));
    EXPECT_TRUE(d.stop(5s));
    EXPECT_EQ(failing->calls(), 6u);  // the failed event once more
    EXPECT_EQ(failing->counters().delivered.load(), 5u);
}

TEST_F(DispatcherWithSpool, EventsWhoseFlushFailedAreTakenAgain) {
    auto spool = open_spool({"recording"});
    auto sink = std::make_unique<recording_sink>();
    auto* recorder = sink.get();
    recorder->fail_next_flush();
    auto d = make_dispatcher(std::move(sink));
    d.use_spool(*spool, true);
    d.start();

    // The first flush fails: nothing is acknowledged, and the sink gets the events once more.
    d.dispatch(commit(*spool, 3));
    ASSERT_TRUE(wait_for_position(*spool, "recording", 3));
    EXPECT_TRUE(d.stop(5s));
    const auto emails = emails_of(recorder->records());
    ASSERT_GE(emails.size(), 4u);
    EXPECT_EQ(std::vector<std::string>(emails.end() - 3, emails.end()), expected_emails(0, 3));
}

TEST_F(DispatcherWithSpool, EventsTheFilterRefusesStillMoveThePosition) {
    auto spool = open_spool({"bounces"});
    auto sink = std::make_unique<recording_sink>("bounces", std::vector<std::string>{"bounce"});
    auto* recorder = sink.get();
    auto d = make_dispatcher(std::move(sink));
    d.use_spool(*spool, false);
    d.start();

    d.dispatch(commit(*spool, 3, 0, "delivered"));
    d.dispatch(commit(*spool, 2, 3, "bounce"));
    d.dispatch(commit(*spool, 3, 5, "open"));

    // Compaction needs every sink's position past the events it will never take.
    ASSERT_TRUE(wait_for_position(*spool, "bounces", 8));
    EXPECT_TRUE(d.stop(5s));
    EXPECT_EQ(emails_of(recorder->records()), expected_emails(3, 2));
}

TEST_F(DispatcherWithSpool, StalledSinkHoldsBackNeitherTheOthersNorItsEvents) {
    auto spool = open_spool({"stalled", "quick"});
    auto stalled = std::make_unique<recording_sink>("stalled");
    auto quick = std::make_unique<recording_sink>("quick");
    auto* stalled_view = stalled.get();
    auto* quick_view = quick.get();
    stalled_view->hold();
    auto d = make_dispatcher(std::move(stalled), std::move(quick));
    d.set_queue_capacity("stalled", 2);
    d.use_spool(*spool, false);
    d.start();

    d.dispatch(commit(*spool, 30));
    ASSERT_TRUE(quick_view->wait_for_count(30, patience));
    ASSERT_TRUE(wait_for_position(*spool, "quick", 30));
    EXPECT_EQ(stalled_view->count(), 0u);

    // Shutdown comes first: what the stalled sink did not take stays in the spool for it.
    // NOTE: the recording sink takes the record it was held on when the stop releases it.
    EXPECT_FALSE(d.stop(100ms));
    const std::uint64_t taken = stalled_view->count();
    EXPECT_LE(taken, 1u);
    EXPECT_EQ(spool->position("stalled"), taken);
    EXPECT_EQ(d.queued(), 30u - taken);
    spool->persist_positions_and_compact(std::chrono::system_clock::now());
    EXPECT_EQ(spool->make_reader()->read_from(1, 100).size(), 30u - taken);
}

}  // namespace
}  // namespace seshook

namespace seshook {
namespace {

TEST_F(DispatcherWithSpool, AddedSinkCatchesUpFromTheSpool) {
    auto spool = open_spool({"slow"});
    auto slow = std::make_unique<recording_sink>("slow");
    slow->hold();
    auto* slow_view = slow.get();
    auto d = make_dispatcher(std::move(slow));
    d.use_spool(*spool, false);
    d.start();
    d.dispatch(commit(*spool, 10));

    // The slow sink has taken none of them, so the new one starts with all ten.
    EXPECT_EQ(spool->add_sink("audit"), 0u);
    auto audit = std::make_unique<recording_sink>("audit");
    auto* audit_view = audit.get();
    d.add(std::move(audit), 100);
    d.dispatch(commit(*spool, 5, 10));

    ASSERT_TRUE(audit_view->wait_for_count(15, patience));
    ASSERT_TRUE(wait_for_position(*spool, "audit", 15));
    slow_view->release();
    EXPECT_TRUE(d.stop(patience));
}

TEST_F(DispatcherWithSpool, ReplacedSinkGoesOnFromItsPosition) {
    auto spool = open_spool({"s"});
    auto first = std::make_unique<recording_sink>("s");
    auto* old = first.get();
    auto d = make_dispatcher(std::move(first));
    d.use_spool(*spool, false);
    d.start();
    d.dispatch(commit(*spool, 10));
    ASSERT_TRUE(wait_for_position(*spool, "s", 10));

    // Events committed while the old sink is stuck wait in the spool for the new one.
    old->hold();
    d.dispatch(commit(*spool, 5, 10));
    ASSERT_TRUE(old->wait_for_started(11, patience));
    auto second = std::make_unique<recording_sink>("s");
    auto* fresh = second.get();
    d.replace(std::move(second), 100, 50ms);
    d.dispatch(commit(*spool, 2, 15));

    // NOTE: the old sink, gone by now, took the event it was held on (seq 11) when the stop
    // released it, or left it for the new one.
    ASSERT_TRUE(wait_for_position(*spool, "s", 17));
    const auto got = fresh->records();
    ASSERT_TRUE(got.size() == 6u || got.size() == 7u) << got.size();
    EXPECT_EQ(got.front().event.email,
              got.size() == 7u ? "user10@example.com" : "user11@example.com");
    EXPECT_EQ(got.back().event.email, "user16@example.com");
    EXPECT_TRUE(d.stop(patience));
}

}  // namespace
}  // namespace seshook
