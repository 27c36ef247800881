#include "seshook/spool/spool_writer.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "support/recording_sink.hpp"
#include "support/temp_dir.hpp"

namespace seshook {

void PrintTo(submit_status status, std::ostream* out) { *out << to_string(status); }

namespace {

using namespace std::chrono_literals;
using testing::make_test_record_ptr;
using testing::temp_dir;

// Every bounded wait of these tests; reaching it is a failure, not a timing.
constexpr auto patience = 30s;

record_ptr make_event(int n) {
    return make_test_record_ptr("delivered", fmt::format("user{}@example.com", n));
}

// Collects what a writer reports: the outcome of each submission and the events handed on.
class recorder {
public:
    spool_writer::committed_handler on_committed() {
        return [this](std::span<const stored_event> events) {
            std::unique_lock lock(mutex_);
            // The first commit may be held, so that later submissions pile up meanwhile.
            changed_.wait(lock, [&] { return !hold_first_ || committed_calls_ > 0 || released_; });
            ++committed_calls_;
            for (const auto& e : events) committed_.push_back(e.seq);
            changed_.notify_all();
        };
    }

    spool_writer::done_handler on_done() {
        return [this](submit_outcome outcome) {
            const std::lock_guard lock(mutex_);
            // Each stored event was handed on before its submitter hears of it.
            for (const auto seq : outcome.seqs) {
                if (seq != 0 &&
                    std::find(committed_.begin(), committed_.end(), seq) == committed_.end()) {
                    handed_on_late_ = true;
                }
            }
            outcomes_.push_back(std::move(outcome));
            changed_.notify_all();
        };
    }

    /// Makes the first commit wait in on_committed until release().
    void hold_first() { hold_first_ = true; }
    void release() {
        const std::lock_guard lock(mutex_);
        released_ = true;
        changed_.notify_all();
    }

    /// Waits until `count` outcomes arrived; false when that takes too long.
    bool wait_for_outcomes(std::size_t count) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, patience, [&] { return outcomes_.size() >= count; });
    }

    std::vector<submit_outcome> outcomes() const {
        const std::lock_guard lock(mutex_);
        return outcomes_;
    }
    std::vector<std::uint64_t> committed() const {
        const std::lock_guard lock(mutex_);
        return committed_;
    }
    bool handed_on_late() const {
        const std::lock_guard lock(mutex_);
        return handed_on_late_;
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<submit_outcome> outcomes_;
    std::vector<std::uint64_t> committed_;
    bool hold_first_ = false;
    bool released_ = false;
    int committed_calls_ = 0;
    bool handed_on_late_ = false;
};

class SpoolWriter : public ::testing::Test {
protected:
    SpoolWriter() {
        opts_.path = dir_ / "spool.db";
        opts_.sink_names = {"file", "forward"};
    }

    std::unique_ptr<event_spool> open() { return event_spool::open(opts_, report_); }

    temp_dir dir_;
    event_spool::options opts_;
    event_spool::open_report report_;
    recorder recorder_;
};

TEST_F(SpoolWriter, CommitsConcurrentSubmissionsWithUniqueIncreasingSeqs) {
    constexpr int threads = 8;
    constexpr int per_thread = 25;
    constexpr int records_each = 2;
    auto spool = open();
    spool_writer writer(*spool, recorder_.on_committed());

    std::vector<std::thread> submitters;
    for (int t = 0; t < threads; ++t) {
        submitters.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                const int n = (t * per_thread + i) * records_each;
                writer.submit({make_event(n), make_event(n + 1)}, recorder_.on_done());
            }
        });
    }
    for (auto& s : submitters) s.join();
    ASSERT_TRUE(recorder_.wait_for_outcomes(threads * per_thread));

    // Every submission committed, its seqs increasing, no seq given twice.
    std::set<std::uint64_t> seqs;
    for (const auto& outcome : recorder_.outcomes()) {
        EXPECT_EQ(outcome.status, submit_status::committed) << outcome.error;
        ASSERT_EQ(outcome.seqs.size(), 2u);
        EXPECT_LT(outcome.seqs[0], outcome.seqs[1]);
        seqs.insert(outcome.seqs.begin(), outcome.seqs.end());
    }
    constexpr auto total = std::size_t{threads * per_thread * records_each};
    EXPECT_EQ(seqs.size(), total);

    // The sinks' side saw each stored event once, in seq order, before its submitter heard.
    const auto committed = recorder_.committed();
    EXPECT_EQ(committed.size(), total);
    EXPECT_TRUE(std::is_sorted(committed.begin(), committed.end()));
    EXPECT_EQ(std::set<std::uint64_t>(committed.begin(), committed.end()), seqs);
    EXPECT_FALSE(recorder_.handed_on_late());

    EXPECT_EQ(spool->make_reader()->read_from(0, 1000).size(), total);
    EXPECT_LE(spool->transactions(), std::uint64_t{threads * per_thread});
}

TEST_F(SpoolWriter, GroupsWaitingSubmissionsIntoOneTransaction) {
    constexpr int threads = 8;
    constexpr int per_thread = 5;
    auto spool = open();
    recorder_.hold_first();
    spool_writer writer(*spool, recorder_.on_committed());

    // While the first commit is held, everything else piles up.
    std::vector<std::thread> submitters;
    for (int t = 0; t < threads; ++t) {
        submitters.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                writer.submit({make_event(t * per_thread + i)}, recorder_.on_done());
            }
        });
    }
    for (auto& s : submitters) s.join();
    recorder_.release();
    ASSERT_TRUE(recorder_.wait_for_outcomes(threads * per_thread));

    EXPECT_LE(spool->transactions(), 2u);
    EXPECT_EQ(recorder_.committed().size(), std::size_t{threads * per_thread});
}

TEST_F(SpoolWriter, ConcurrentRepeatsOfOneEventAreStoredOnce) {
    constexpr int threads = 8;
    auto spool = open();
    spool_writer writer(*spool, recorder_.on_committed());
    const auto event = make_event(1);

    std::vector<std::thread> submitters;
    for (int t = 0; t < threads; ++t) {
        submitters.emplace_back([&] { writer.submit({event, event}, recorder_.on_done()); });
    }
    for (auto& s : submitters) s.join();
    ASSERT_TRUE(recorder_.wait_for_outcomes(threads));

    std::size_t duplicates = 0;
    for (const auto& outcome : recorder_.outcomes()) {
        EXPECT_EQ(outcome.status, submit_status::committed);
        duplicates += outcome.duplicates;
    }
    EXPECT_EQ(duplicates, std::size_t{2 * threads - 1});
    EXPECT_EQ(recorder_.committed(), (std::vector<std::uint64_t>{1}));
}

TEST_F(SpoolWriter, StopCommitsWhatIsPendingAndPersistsPositions) {
    constexpr int submissions = 50;
    auto spool = open();
    recorder_.hold_first();
    {
        spool_writer writer(*spool, recorder_.on_committed());
        for (int i = 0; i < submissions; ++i) {
            writer.submit({make_event(i)}, recorder_.on_done());
        }
        spool->acknowledge("file", 3);
        recorder_.release();
        writer.stop();

        // Everything was answered by the time stop() returned.
        EXPECT_EQ(recorder_.outcomes().size(), std::size_t{submissions});
        writer.submit({make_event(1000)}, recorder_.on_done());
        ASSERT_EQ(recorder_.outcomes().size(), std::size_t{submissions + 1});
        EXPECT_EQ(recorder_.outcomes().back().status, submit_status::failed);
        EXPECT_NE(recorder_.outcomes().back().error.find("stopped"), std::string::npos);
    }
    spool.reset();

    spool = open();
    EXPECT_EQ(report_.events, std::uint64_t{submissions});
    EXPECT_EQ(spool->last_seq(), std::uint64_t{submissions});
    EXPECT_EQ(spool->position("file"), 3u);
}

TEST_F(SpoolWriter, RefusesWhenFullAndAcceptsAgainAfterCompaction) {
    const auto size = make_event(1)->event.raw.size();
    opts_.max_bytes = 2 * size + size / 2;
    auto spool = open();
    spool_writer writer(*spool, recorder_.on_committed(),
                        spool_writer::options{std::chrono::milliseconds(10)});

    for (int n = 1; n <= 3; ++n) {
        writer.submit({make_event(n)}, recorder_.on_done());
        ASSERT_TRUE(recorder_.wait_for_outcomes(n));
    }
    auto outcomes = recorder_.outcomes();
    EXPECT_EQ(outcomes[0].status, submit_status::committed);
    EXPECT_EQ(outcomes[1].status, submit_status::committed);
    EXPECT_EQ(outcomes[2].status, submit_status::full);
    EXPECT_EQ(spool->last_seq(), 2u);

    // Once both sinks have both events, compaction makes room.
    spool->acknowledge("file", 2);
    spool->acknowledge("forward", 2);
    const auto deadline = std::chrono::steady_clock::now() + patience;
    while (spool->stored_bytes() != 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);  // polls a condition, bounded by the deadline
    }
    ASSERT_EQ(spool->stored_bytes(), 0u);

    writer.submit({make_event(3)}, recorder_.on_done());
    ASSERT_TRUE(recorder_.wait_for_outcomes(4));
    EXPECT_EQ(recorder_.outcomes()[3].status, submit_status::committed);
    EXPECT_EQ(recorder_.outcomes()[3].seqs, (std::vector<std::uint64_t>{3}));
}

TEST_F(SpoolWriter, PendingBytesCountAgainstTheLimit) {
    const auto size = make_event(1)->event.raw.size();
    opts_.max_bytes = 2 * size + size / 2;
    auto spool = open();
    recorder_.hold_first();
    spool_writer writer(*spool, recorder_.on_committed());

    // The first is held in its commit; the next two wait behind it and the third is one too
    // many, although nothing but the first is stored yet.
    writer.submit({make_event(1)}, recorder_.on_done());
    writer.submit({make_event(2)}, recorder_.on_done());
    writer.submit({make_event(3)}, recorder_.on_done());
    ASSERT_TRUE(recorder_.wait_for_outcomes(1));
    EXPECT_EQ(recorder_.outcomes()[0].status, submit_status::full);
    recorder_.release();
    ASSERT_TRUE(recorder_.wait_for_outcomes(3));
    EXPECT_EQ(spool->last_seq(), 2u);
}

}  // namespace
}  // namespace seshook
