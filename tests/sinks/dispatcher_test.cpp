#include "seshook/sinks/dispatcher.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "seshook/sinks/file_sink.hpp"
#include "support/failing_sink.hpp"
#include "support/file_size_limit.hpp"
#include "support/log_capture.hpp"
#include "support/recording_sink.hpp"
#include "support/temp_dir.hpp"

namespace seshook {
namespace {

using namespace std::chrono_literals;
using ::testing::Each;
using testing::failing_sink;
using ::testing::Field;
using testing::make_test_record_ptr;
using testing::recording_sink;
using ::testing::SizeIs;

// Generous bound for anything the test waits for; never reached when things work.
constexpr auto patience = std::chrono::seconds(10);

/// What the undeliverable handler received.
struct handed_over {
    std::string id;
    std::string sink;
    std::string why;
};

// Collects what the dispatcher hands to its undeliverable handler, from any thread.
class undeliverable_log {
public:
    undeliverable_handler handler() {
        return [this](const record& r, std::string_view sink_name, std::string_view why) {
            const std::lock_guard lock(mutex_);
            entries_.push_back({r.event.id, std::string(sink_name), std::string(why)});
        };
    }

    std::vector<handed_over> entries() const {
        const std::lock_guard lock(mutex_);
        return entries_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<handed_over> entries_;
};

// Builds `count` records with distinct ids.
std::vector<record_ptr> make_records(int count, const std::string& event = "delivered") {
    std::vector<record_ptr> records;
    for (int i = 0; i < count; ++i) {
        records.push_back(make_test_record_ptr(event, "user" + std::to_string(i) + "@example.com"));
    }
    return records;
}

// Holds the sinks given to a dispatcher, so that the test can still look at them.
struct fixture {
    std::vector<std::unique_ptr<sink>> owned;

    template <typename Sink, typename... Args>
    Sink& add(Args&&... args) {
        auto s = std::make_unique<Sink>(std::forward<Args>(args)...);
        Sink& ref = *s;
        owned.push_back(std::move(s));
        return ref;
    }
};

template <typename Condition>
bool eventually(Condition done) {
    const auto deadline = std::chrono::steady_clock::now() + patience;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

TEST(Dispatcher, GivesEachSinkTheEventsItsFilterTakes) {
    fixture f;
    auto& all = f.add<recording_sink>("all");
    auto& bounces = f.add<recording_sink>("bounces", std::vector<std::string>{"bounce"});
    undeliverable_log undeliverable;
    dispatcher d(std::move(f.owned), undeliverable.handler());

    d.start();
    const std::vector<record_ptr> records{make_test_record_ptr("delivered"),
                                          make_test_record_ptr("bounce"),
                                          make_test_record_ptr("open")};
    d.dispatch(records);
    EXPECT_TRUE(d.stop(patience));

    ASSERT_THAT(all.records(), SizeIs(3));
    ASSERT_THAT(bounces.records(), SizeIs(1));
    EXPECT_EQ(bounces.records()[0].event.event, "bounce");
    EXPECT_THAT(undeliverable.entries(), SizeIs(0));
}

TEST(Dispatcher, DeliversInTheOrderDispatched) {
    fixture f;
    auto& s = f.add<recording_sink>("ordered");
    dispatcher d(std::move(f.owned), nullptr);
    const auto records = make_records(50);

    d.start();
    for (const auto& r : records) d.dispatch({&r, 1});
    EXPECT_TRUE(d.stop(patience));

    const auto got = s.records();
    ASSERT_EQ(got.size(), records.size());
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].event.id, records[i]->event.id);
}

TEST(Dispatcher, FullQueueGoesToTheHandlerWithoutBlocking) {
    fixture f;
    auto& held = f.add<recording_sink>("held");
    auto& other = f.add<recording_sink>("other");
    held.hold();
    undeliverable_log undeliverable;
    dispatcher d(std::move(f.owned), undeliverable.handler());
    const std::size_t capacity = 2;
    d.set_queue_capacity("held", capacity);

    // The first record sits in the held sink, the next `capacity` in its queue.
    d.start();
    const auto first = make_records(1, "bounce");
    d.dispatch(first);
    ASSERT_TRUE(held.wait_for_started(1, patience));
    const auto more = make_records(5);
    d.dispatch(more);

    // Whatever did not fit was handed over at once, and the other sink got everything.
    const auto refused = undeliverable.entries();
    ASSERT_THAT(refused, SizeIs(more.size() - capacity));
    EXPECT_THAT(refused, Each(Field(&handed_over::why, "queue_full")));
    EXPECT_THAT(refused, Each(Field(&handed_over::sink, "held")));
    ASSERT_TRUE(other.wait_for_count(1 + more.size(), patience));
    EXPECT_EQ(d.queued(), capacity);

    held.release();
    EXPECT_TRUE(d.stop(patience));
    EXPECT_EQ(held.count(), 1 + capacity);
}

TEST(Dispatcher, FailingSinkDoesNotStopTheOthers) {
    fixture f;
    auto& broken = f.add<failing_sink>("broken");
    auto& healthy = f.add<recording_sink>("healthy");
    undeliverable_log undeliverable;
    dispatcher d(std::move(f.owned), undeliverable.handler());
    const auto records = make_records(5);

    d.start();
    d.dispatch(records);
    EXPECT_TRUE(d.stop(patience));

    EXPECT_EQ(healthy.count(), records.size());
    EXPECT_EQ(broken.counters().failed.load(), records.size());
    const auto failed = undeliverable.entries();
    ASSERT_THAT(failed, SizeIs(records.size()));
    EXPECT_THAT(failed, Each(Field(&handed_over::why, "sink_failed")));
    EXPECT_THAT(failed, Each(Field(&handed_over::sink, "broken")));
}

TEST(Dispatcher, StopDrainsTheQueuesAndClosesTheSinks) {
    fixture f;
    auto& slow = f.add<recording_sink>("slow");
    slow.set_delay(2ms);
    undeliverable_log undeliverable;
    dispatcher d(std::move(f.owned), undeliverable.handler());
    const auto records = make_records(20);

    d.start();
    d.dispatch(records);
    EXPECT_TRUE(d.stop(patience));

    EXPECT_EQ(slow.count(), records.size());
    EXPECT_EQ(d.queued(), 0u);
    EXPECT_THAT(undeliverable.entries(), SizeIs(0));
    EXPECT_EQ(slow.opens(), 1u);
    EXPECT_GE(slow.flushes(), 1u);
    EXPECT_EQ(slow.closes(), 1u);
}

TEST(Dispatcher, StopAfterGraceHandsTheRestOverAsShutdown) {
    fixture f;
    auto& slow = f.add<recording_sink>("slow");
    slow.set_delay(std::chrono::minutes(10));  // cut short only by the stop token
    undeliverable_log undeliverable;
    dispatcher d(std::move(f.owned), undeliverable.handler());
    const auto records = make_records(5);

    d.start();
    d.dispatch(records);
    ASSERT_TRUE(slow.wait_for_started(1, patience));
    const auto before = std::chrono::steady_clock::now();
    EXPECT_FALSE(d.stop(50ms));
    const auto took = std::chrono::steady_clock::now() - before;

    // The record in the sink when the grace ran out finished; the queued ones were handed over.
    EXPECT_LT(took, patience);
    EXPECT_EQ(slow.count(), 1u);
    const auto rest = undeliverable.entries();
    ASSERT_THAT(rest, SizeIs(records.size() - 1));
    EXPECT_THAT(rest, Each(Field(&handed_over::why, "shutdown")));
    for (std::size_t i = 0; i < rest.size(); ++i) EXPECT_EQ(rest[i].id, records[i + 1]->event.id);
    EXPECT_EQ(slow.closes(), 1u);
}

TEST(Dispatcher, RecordsAfterStopAreHandedOver) {
    fixture f;
    auto& s = f.add<recording_sink>("late");
    undeliverable_log undeliverable;
    dispatcher d(std::move(f.owned), undeliverable.handler());

    d.start();
    EXPECT_TRUE(d.stop(patience));
    d.dispatch(make_records(2));

    EXPECT_EQ(s.count(), 0u);
    const auto late = undeliverable.entries();
    ASSERT_THAT(late, SizeIs(2));
    EXPECT_THAT(late, Each(Field(&handed_over::why, "shutdown")));
}

TEST(Dispatcher, ReopenRunsOnTheSinksOwnThread) {
    fixture f;
    auto& s = f.add<recording_sink>("file");
    dispatcher d(std::move(f.owned), nullptr);

    d.start();
    d.dispatch(make_records(1));
    ASSERT_TRUE(s.wait_for_count(1, patience));
    d.reopen();
    ASSERT_TRUE(s.wait_for_reopens(1, patience));

    EXPECT_EQ(s.reopen_thread(), s.consume_thread());
    EXPECT_NE(s.reopen_thread(), std::this_thread::get_id());
    EXPECT_TRUE(d.stop(patience));
}

TEST(Dispatcher, FlushesASinkWhenItsQueueRunsEmpty) {
    fixture f;
    auto& s = f.add<recording_sink>("file");
    dispatcher d(std::move(f.owned), nullptr);

    d.start();
    d.dispatch(make_records(3));
    ASSERT_TRUE(s.wait_for_count(3, patience));

    EXPECT_TRUE(eventually([&] { return s.flushes() >= 1; }));
    EXPECT_TRUE(d.stop(patience));
}

TEST(Dispatcher, StartFailsAndClosesWhatItOpenedWhenASinkCannotOpen) {
    fixture f;
    auto& good = f.add<recording_sink>("good");
    auto& bad = f.add<failing_sink>("bad");
    bad.fail_open();
    dispatcher d(std::move(f.owned), nullptr);

    EXPECT_THROW(d.start(), std::runtime_error);

    EXPECT_EQ(good.opens(), 1u);
    EXPECT_EQ(good.closes(), 1u);
}

TEST(Dispatcher, QueueCapacityOfAnUnknownSinkIsRefused) {
    fixture f;
    f.add<recording_sink>("known");
    dispatcher d(std::move(f.owned), nullptr);

    EXPECT_THROW(d.set_queue_capacity("unknown", 10), std::invalid_argument);
    EXPECT_THROW(d.set_queue_capacity("known", 0), std::invalid_argument);
    EXPECT_NO_THROW(d.set_queue_capacity("known", 10));
}

TEST(Dispatcher, ListsItsSinksWithTheirCounters) {
    fixture f;
    f.add<recording_sink>("first");
    f.add<recording_sink>("second");
    dispatcher d(std::move(f.owned), nullptr);

    d.start();
    d.dispatch(make_records(2));
    EXPECT_TRUE(d.stop(patience));

    const auto sinks = d.sinks();
    ASSERT_THAT(sinks, SizeIs(2));
    EXPECT_EQ(sinks[0]->name(), "first");
    EXPECT_EQ(sinks[1]->name(), "second");
    EXPECT_EQ(sinks[0]->counters().delivered.load(), 2u);
}

TEST(Dispatcher, DestructorDrainsWhatWasQueued) {
    testing::temp_dir dir;
    const auto path = dir / "events.jsonl";
    const auto records = make_records(3);
    {
        std::vector<std::unique_ptr<sink>> sinks;
        sinks.push_back(std::make_unique<file_sink>("file", std::vector<std::string>{},
                                                    rotating_file::options{path, 0, 0}));
        dispatcher d(std::move(sinks), nullptr);
        d.start();
        d.dispatch(records);
    }

    EXPECT_THAT(testing::read_lines(path), SizeIs(records.size()));
}

TEST(Dispatcher, FileSinkOnAFullDiskHandsWhatFailedToTheHandler) {
    testing::log_capture log;
    testing::temp_dir dir;
    const auto path = dir / "events.jsonl";
    const auto records = make_records(6);
    const auto line_size = records[0]->to_json_line().size() + 1;
    undeliverable_log handed;
    std::vector<std::unique_ptr<sink>> sinks;
    sinks.push_back(std::make_unique<file_sink>("file", std::vector<std::string>{},
                                                rotating_file::options{path, 0, 0}));
    dispatcher d(std::move(sinks), handed.handler());

    // Two lines and a half fit: the third record and those after it fail.
    d.start();
    {
        testing::file_size_limit limit(2 * line_size + line_size / 2);
        d.dispatch(records);
        ASSERT_TRUE(d.stop(patience));
    }

    // Each record is either whole in the file or with the handler, never both, never neither.
    std::set<std::string> in_file;
    for (const auto& line : testing::read_lines(path)) {
        ASSERT_TRUE(nlohmann::json::accept(line)) << line;
        in_file.insert(nlohmann::json::parse(line).at("id").get<std::string>());
    }
    EXPECT_EQ(in_file.size(), 2u);
    const auto entries = handed.entries();
    EXPECT_THAT(entries, SizeIs(records.size() - in_file.size()));
    EXPECT_THAT(entries, Each(Field(&handed_over::why, "sink_failed")));
    for (const auto& entry : entries) EXPECT_FALSE(in_file.contains(entry.id)) << entry.id;
}

}  // namespace
}  // namespace seshook

namespace seshook {
namespace {

using testing::make_test_record_ptr;
using testing::recording_sink;

std::vector<record_ptr> numbered_records(int first, int count) {
    std::vector<record_ptr> records;
    for (int i = first; i < first + count; ++i) {
        records.push_back(make_test_record_ptr("delivered", fmt::format("user{}@example.com", i)));
    }
    return records;
}

TEST(DispatcherChanges, AddedSinkTakesTheRecordsFromThenOn) {
    std::vector<std::unique_ptr<sink>> sinks;
    sinks.push_back(std::make_unique<recording_sink>("first"));
    dispatcher d(std::move(sinks), nullptr);
    d.start();
    d.dispatch(numbered_records(0, 2));

    auto added = std::make_unique<recording_sink>("second");
    auto* second = added.get();
    d.add(std::move(added), 100);
    EXPECT_EQ(second->opens(), 1u);
    d.dispatch(numbered_records(2, 3));

    ASSERT_TRUE(second->wait_for_count(3, std::chrono::seconds(10)));
    EXPECT_TRUE(d.stop(std::chrono::seconds(10)));
    EXPECT_EQ(second->count(), 3u);
    EXPECT_EQ(d.sinks().size(), 2u);
    EXPECT_THROW(d.add(std::make_unique<recording_sink>("first"), 100), std::invalid_argument);
}

TEST(DispatcherChanges, ReplacedSinkHandsItsQueueToTheNewOne) {
    std::vector<std::unique_ptr<sink>> sinks;
    auto held = std::make_unique<recording_sink>("s");
    auto* old = held.get();
    old->hold();
    sinks.push_back(std::move(held));
    std::mutex mutex;
    std::vector<std::string> handed;
    dispatcher d(std::move(sinks), [&](const record&, std::string_view, std::string_view why) {
        const std::lock_guard lock(mutex);
        handed.emplace_back(why);
    });
    d.start();
    const auto records = numbered_records(0, 5);
    d.dispatch(records);
    ASSERT_TRUE(old->wait_for_started(1, std::chrono::seconds(10)));

    // The old sink is busy with the first record; the four queued behind it move over.
    auto fresh = std::make_unique<recording_sink>("s");
    auto* replacement = fresh.get();
    d.replace(std::move(fresh), 100, std::chrono::milliseconds(50));
    d.dispatch(numbered_records(5, 1));

    // NOTE: the old sink is gone by now; the one it was held on it took when the stop released
    // it, or it was handed over.
    ASSERT_TRUE(replacement->wait_for_count(5, std::chrono::seconds(10)));
    EXPECT_TRUE(d.stop(std::chrono::seconds(10)));
    const auto got = replacement->records();
    ASSERT_EQ(got.size(), 5u);
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(got[i].event.id, records[i + 1]->event.id);
    EXPECT_LE(handed.size(), 1u);
}

TEST(DispatcherChanges, ReplacingAnUnknownSinkChangesNothing) {
    std::vector<std::unique_ptr<sink>> sinks;
    sinks.push_back(std::make_unique<recording_sink>("s"));
    dispatcher d(std::move(sinks), nullptr);
    d.start();
    auto stranger = std::make_unique<recording_sink>("other");
    EXPECT_THROW(d.replace(std::move(stranger), 10, std::chrono::milliseconds(10)),
                 std::invalid_argument);
    EXPECT_EQ(d.sinks().size(), 1u);
    EXPECT_EQ(d.sinks()[0]->name(), "s");
    EXPECT_TRUE(d.stop(std::chrono::seconds(10)));
}

TEST(DispatcherChanges, RemovedSinkHandsOverWhatItCouldNotTake) {
    std::vector<std::unique_ptr<sink>> sinks;
    auto held = std::make_unique<recording_sink>("gone");
    auto* gone = held.get();
    gone->hold();
    sinks.push_back(std::move(held));
    sinks.push_back(std::make_unique<recording_sink>("stays"));
    std::mutex mutex;
    std::vector<std::string> handed;
    dispatcher d(std::move(sinks), [&](const record&, std::string_view, std::string_view why) {
        const std::lock_guard lock(mutex);
        handed.emplace_back(why);
    });
    d.start();
    d.dispatch(numbered_records(0, 3));
    ASSERT_TRUE(gone->wait_for_started(1, std::chrono::seconds(10)));

    EXPECT_TRUE(d.remove("gone", std::chrono::milliseconds(50)));
    EXPECT_FALSE(d.remove("gone", std::chrono::milliseconds(50)));
    d.dispatch(numbered_records(3, 2));

    // The one it was held on it took when the stop released it; the two queued behind it were
    // handed over.
    EXPECT_TRUE(d.stop(std::chrono::seconds(10)));
    EXPECT_EQ(handed, (std::vector<std::string>{"sink_removed", "sink_removed"}));
    ASSERT_EQ(d.sinks().size(), 1u);
}

}  // namespace
}  // namespace seshook
