#include "seshook/spool/event_spool.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "support/recording_sink.hpp"
#include "support/temp_dir.hpp"

namespace seshook {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::make_test_record;
using testing::temp_dir;

const std::chrono::system_clock::time_point t0 =
    std::chrono::sys_days(std::chrono::year_month_day(
        std::chrono::year(2026), std::chrono::month(12), std::chrono::day(3))) +
    19h;

// A distinct event (by its address), received at a distinct time from `peer`.
record_ptr make_event(int n, std::string peer = "203.0.113.7", std::string reason = "") {
    auto r =
        make_test_record(n % 2 == 0 ? "delivered" : "bounce", fmt::format("user{}@example.com", n),
                         1654064683 + n, std::move(reason));
    r.received_at = fmt::format("2026-12-03T19:10:{:02}.{:03}Z", n % 60, n % 1000);
    r.peer = std::move(peer);
    return std::make_shared<const record>(std::move(r));
}

std::vector<record_ptr> make_events(int first, int count) {
    std::vector<record_ptr> events;
    for (int n = first; n < first + count; ++n) events.push_back(make_event(n));
    return events;
}

// Runs a one-number query on the database, as an operator would with the sqlite3 shell.
std::int64_t query_number(const fs::path& path, const char* sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    std::int64_t value = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return value;
}

std::string query_text(const fs::path& path, const char* sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    std::string value;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return value;
}

void expect_same_record(const record& got, const record& want) {
    EXPECT_EQ(got.event.id, want.event.id);
    EXPECT_EQ(got.event.raw, want.event.raw);
    EXPECT_EQ(got.event.event, want.event.event);
    EXPECT_EQ(got.received_at, want.received_at);
    EXPECT_EQ(got.peer, want.peer);
}

std::uint64_t payload_bytes(const std::vector<record_ptr>& records) {
    std::uint64_t bytes = 0;
    for (const auto& r : records) bytes += r->event.raw.size();
    return bytes;
}

// Returns the files of the folder whose name starts with `prefix`.
std::vector<fs::path> files_starting_with(const fs::path& folder, const std::string& prefix) {
    std::vector<fs::path> found;
    for (const auto& entry : fs::directory_iterator(folder)) {
        if (entry.path().filename().string().starts_with(prefix)) found.push_back(entry.path());
    }
    std::sort(found.begin(), found.end());
    return found;
}

bool notes_mention(const event_spool::open_report& report, const std::string& text) {
    for (const auto& note : report.notes) {
        if (note.find(text) != std::string::npos) return true;
    }
    return false;
}

class EventSpool : public ::testing::Test {
protected:
    EventSpool() {
        opts_.path = dir_ / "var" / "spool.db";
        opts_.durability = spool_durability::fsync;
        opts_.dedup_window = 1h;
        opts_.sink_names = {"file", "forward"};
    }

    std::unique_ptr<event_spool> open() { return event_spool::open(opts_, report_); }

    // Writes `bytes` bytes of garbage over the database file from `offset`.
    void scribble(std::uint64_t offset, std::size_t bytes) {
        std::mt19937 random(42);
        std::string garbage(bytes, '\0');
        for (auto& c : garbage) c = static_cast<char>(random());
        std::fstream file(opts_.path, std::ios::in | std::ios::out | std::ios::binary);
        ASSERT_TRUE(file.is_open());
        file.seekp(static_cast<std::streamoff>(offset));
        file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    }

    // Checks that every event the spool holds is the original of the same seq.
    std::size_t expect_events_intact(event_spool& spool, const std::vector<record_ptr>& originals) {
        const auto events = spool.make_reader()->read_from(0, 100000);
        for (const auto& e : events) {
            EXPECT_GE(e.seq, 1u);
            EXPECT_LE(e.seq, originals.size());
            if (e.seq >= 1 && e.seq <= originals.size()) {
                expect_same_record(*e.rec, *originals[e.seq - 1]);
            }
        }
        return events.size();
    }

    temp_dir dir_;
    event_spool::options opts_;
    event_spool::open_report report_;
};

TEST_F(EventSpool, CommitsAndReadsBack) {
    auto spool = open();
    const std::vector<record_ptr> records{make_event(1), make_event(2, "2001:db8::1"),
                                          make_event(3, "198.51.100.4", "550 mailbox unavailable")};

    const auto result = spool->commit(records, t0);

    EXPECT_EQ(result.seqs, (std::vector<std::uint64_t>{1, 2, 3}));
    EXPECT_EQ(result.duplicates, 0u);
    EXPECT_EQ(spool->last_seq(), 3u);
    EXPECT_EQ(spool->stored_bytes(), payload_bytes(records));
    const auto events = spool->make_reader()->read_from(1, 10);
    ASSERT_EQ(events.size(), 3u);
    for (std::size_t i = 0; i < events.size(); ++i) {
        EXPECT_EQ(events[i].seq, i + 1);
        expect_same_record(*events[i].rec, *records[i]);
    }
    EXPECT_EQ(spool->make_reader()->read_from(2, 1).front().seq, 2u);
    EXPECT_EQ(query_text(opts_.path, "PRAGMA journal_mode"), "wal");
    EXPECT_TRUE(spool->make_reader()->read_from(4, 10).empty());
}

TEST_F(EventSpool, ReportsWhatItHoldsAtOpen) {
    const auto records = make_events(1, 4);
    open()->commit(records, t0);

    auto spool = open();

    EXPECT_EQ(report_.events, 4u);
    EXPECT_EQ(report_.bytes, payload_bytes(records));
    EXPECT_EQ(report_.last_seq, 4u);
    EXPECT_EQ(spool->stored_bytes(), payload_bytes(records));
    EXPECT_FALSE(report_.moved_aside);
    EXPECT_TRUE(report_.notes.empty());
}

TEST_F(EventSpool, SeqsIncreaseAcrossCommitsReopensAndCompaction) {
    auto spool = open();
    EXPECT_EQ(spool->commit(make_events(1, 2), t0).seqs, (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(spool->commit(make_events(3, 2), t0).seqs, (std::vector<std::uint64_t>{3, 4}));

    // Every sink has everything: compaction empties the events table, yet no seq is reused.
    spool->acknowledge("file", 4);
    spool->acknowledge("forward", 4);
    spool->persist_positions_and_compact(t0);
    spool.reset();
    spool = open();
    EXPECT_EQ(report_.events, 0u);

    EXPECT_EQ(spool->commit(make_events(5, 1), t0).seqs, (std::vector<std::uint64_t>{5}));
}

TEST_F(EventSpool, DedupWithinOneBatch) {
    auto spool = open();
    const auto a = make_event(1);
    const auto b = make_event(2);

    const auto result = spool->commit(std::vector{a, b, a}, t0);

    EXPECT_EQ(result.seqs, (std::vector<std::uint64_t>{1, 2, 0}));
    EXPECT_EQ(result.duplicates, 1u);
    EXPECT_EQ(spool->make_reader()->read_from(0, 10).size(), 2u);
    EXPECT_EQ(spool->stored_bytes(), a->event.raw.size() + b->event.raw.size());
}

TEST_F(EventSpool, DedupAcrossCommitsAndReopen) {
    const auto a = make_event(1);
    {
        auto spool = open();
        spool->commit(std::vector{a}, t0);
        const auto again = spool->commit(std::vector{a, make_event(2)}, t0 + 1min);
        EXPECT_EQ(again.seqs, (std::vector<std::uint64_t>{0, 2}));
    }

    auto spool = open();
    const auto result = spool->commit(std::vector{a}, t0 + 2min);

    EXPECT_EQ(result.seqs, (std::vector<std::uint64_t>{0}));
    EXPECT_EQ(result.duplicates, 1u);
    EXPECT_EQ(spool->last_seq(), 2u);
}

TEST_F(EventSpool, DedupForgetsAnIdAfterTheWindow) {
    auto spool = open();
    const auto a = make_event(1);
    spool->commit(std::vector{a}, t0);

    EXPECT_EQ(spool->commit(std::vector{a}, t0 + 1h - 1ms).duplicates, 1u);
    EXPECT_EQ(spool->commit(std::vector{a}, t0 + 1h).seqs, (std::vector<std::uint64_t>{2}));

    // Accepted again, the id counts from then on.
    EXPECT_EQ(spool->commit(std::vector{a}, t0 + 1h + 30min).duplicates, 1u);
}

TEST_F(EventSpool, CompactionPrunesExpiredIds) {
    auto spool = open();
    spool->commit(std::vector{make_event(1)}, t0);
    spool->commit(std::vector{make_event(2)}, t0 + 30min);

    spool->persist_positions_and_compact(t0 + 1h);
    EXPECT_EQ(query_number(opts_.path, "SELECT COUNT(*) FROM seen"), 1);

    spool->persist_positions_and_compact(t0 + 2h);
    EXPECT_EQ(query_number(opts_.path, "SELECT COUNT(*) FROM seen"), 0);
}

TEST_F(EventSpool, DedupIsOffWithAZeroWindow) {
    opts_.dedup_window = 0ms;
    auto spool = open();
    const auto a = make_event(1);

    const auto result = spool->commit(std::vector{a, a}, t0);

    EXPECT_EQ(result.seqs, (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(query_number(opts_.path, "SELECT COUNT(*) FROM seen"), 0);
}

TEST_F(EventSpool, PositionsPersistAcrossReopen) {
    {
        auto spool = open();
        spool->commit(make_events(1, 3), t0);
        spool->acknowledge("file", 3);
        spool->acknowledge("forward", 2);
        spool->acknowledge("forward", 1);  // lower: ignored
        spool->acknowledge("nobody", 3);   // not configured: ignored
        EXPECT_EQ(spool->position("forward"), 2u);
        spool->persist_positions_and_compact(t0);
    }

    auto spool = open();

    EXPECT_EQ(spool->position("file"), 3u);
    EXPECT_EQ(spool->position("forward"), 2u);
    EXPECT_EQ(spool->position("nobody"), 0u);
    EXPECT_EQ(report_.events, 1u);
}

TEST_F(EventSpool, EveryCommitSavesThePositionsToo) {
    // No maintenance ran before the "crash": the next commit carried the positions along.
    {
        auto spool = open();
        spool->commit(make_events(1, 3), t0);
        spool->acknowledge("file", 3);
        spool->acknowledge("forward", 1);
        spool->commit(make_events(4, 1), t0);
    }

    auto spool = open();
    EXPECT_EQ(spool->position("file"), 3u);
    EXPECT_EQ(spool->position("forward"), 1u);
}

TEST_F(EventSpool, NewSinkStartsWithTheEventsStillStored) {
    // Three events of which every sink took the first: compaction dropped it.
    {
        auto spool = open();
        spool->commit(make_events(1, 3), t0);
        for (const auto& name : opts_.sink_names) spool->acknowledge(name, 1);
        spool->persist_positions_and_compact(t0);
    }

    // A sink new to the spool (often one renamed) gets the two still there, not none.
    opts_.sink_names.push_back("archive");
    auto spool = open();
    EXPECT_EQ(spool->position("archive"), 1u);
    EXPECT_EQ(spool->position("file"), 1u);
    EXPECT_TRUE(notes_mention(report_, "sink archive is new to the spool: it starts with the 2"))
        << ::testing::PrintToString(report_.notes);
    EXPECT_EQ(query_number(opts_.path, "SELECT seq FROM positions WHERE sink = 'archive'"), 1);
}

TEST_F(EventSpool, NewSinkOfAnEmptySpoolStartsAtTheLastSeq) {
    {
        auto spool = open();
        spool->commit(make_events(1, 3), t0);
        for (const auto& name : opts_.sink_names) spool->acknowledge(name, 3);
        spool->persist_positions_and_compact(t0);
    }
    opts_.sink_names.push_back("archive");
    auto spool = open();
    EXPECT_EQ(spool->position("archive"), 3u);
    EXPECT_FALSE(notes_mention(report_, "sink archive is new"));
}

TEST_F(EventSpool, RemovedSinkPositionIsDroppedWithANote) {
    {
        auto spool = open();
        spool->commit(make_events(1, 3), t0);
        spool->acknowledge("file", 3);
        spool->persist_positions_and_compact(t0);
    }

    opts_.sink_names = {"file"};
    auto spool = open();

    EXPECT_TRUE(notes_mention(report_, "dropped the position of sink forward"))
        << ::testing::PrintToString(report_.notes);
    EXPECT_EQ(query_number(opts_.path, "SELECT COUNT(*) FROM positions WHERE sink = 'forward'"), 0);

    // Nothing holds the events back any more.
    spool->persist_positions_and_compact(t0);
    EXPECT_EQ(spool->stored_bytes(), 0u);
    EXPECT_TRUE(spool->make_reader()->read_from(0, 10).empty());
}

TEST_F(EventSpool, CompactionDeletesOnlyWhatEverySinkHas) {
    const auto records = make_events(1, 5);
    {
        auto spool = open();
        spool->commit(records, t0);
        spool->acknowledge("file", 4);
        spool->acknowledge("forward", 2);

        spool->persist_positions_and_compact(t0);

        const auto left = spool->make_reader()->read_from(0, 10);
        ASSERT_EQ(left.size(), 3u);
        EXPECT_EQ(left.front().seq, 3u);
        EXPECT_EQ(spool->stored_bytes(),
                  payload_bytes(std::vector<record_ptr>(records.begin() + 2, records.end())));
    }

    auto spool = open();

    EXPECT_EQ(report_.events, 3u);
    EXPECT_EQ(report_.bytes, spool->stored_bytes());
    const auto left = spool->make_reader()->read_from(0, 10);
    ASSERT_EQ(left.size(), 3u);
    for (const auto& e : left) expect_same_record(*e.rec, *records[e.seq - 1]);
}

TEST_F(EventSpool, WriteDurabilityWorksToo) {
    opts_.durability = spool_durability::write;
    open()->commit(make_events(1, 2), t0);

    auto spool = open();

    EXPECT_EQ(report_.events, 2u);
    EXPECT_EQ(query_text(opts_.path, "PRAGMA journal_mode"), "wal");
}

TEST_F(EventSpool, ErrorsNameThePathAndSqlitesMessage) {
    // A database with other tables is not ours: it is refused and left as it is.
    {
        sqlite3* db = nullptr;
        fs::create_directories(opts_.path.parent_path());
        ASSERT_EQ(sqlite3_open(opts_.path.c_str(), &db), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE events(x)", nullptr, nullptr, nullptr), SQLITE_OK);
        sqlite3_close(db);
    }

    try {
        open();
        FAIL() << "expected a spool_error";
    } catch (const spool_error& e) {
        EXPECT_NE(std::string(e.what()).find(opts_.path.string()), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("has no column named seq"), std::string::npos)
            << e.what();
    }
    EXPECT_TRUE(files_starting_with(opts_.path.parent_path(), "spool.db.corrupt").empty());
    EXPECT_EQ(query_number(opts_.path, "SELECT COUNT(*) FROM events"), 0);
}

TEST_F(EventSpool, UnopenablePathThrows) {
    fs::create_directories(opts_.path);  // a folder where the file should be

    EXPECT_THROW(open(), spool_error);
    EXPECT_TRUE(fs::is_directory(opts_.path));
}

TEST_F(EventSpool, GarbageOverTheFirstPageIsMovedAsideAndEveryEventSalvaged) {
    // Enough events for many pages, one of them larger than a page (overflow pages).
    auto records = make_events(1, 300);
    records[150] = make_event(151, "203.0.113.7", std::string(10000, 'x'));
    {
        auto spool = open();
        spool->commit(records, t0);
        spool->acknowledge("file", 100);
        spool->persist_positions_and_compact(t0);
    }
    scribble(0, 4096);
    const std::string damaged = testing::read_file(opts_.path);

    auto spool = open();

    ASSERT_TRUE(report_.moved_aside);
    EXPECT_EQ(report_.moved_aside->parent_path(), opts_.path.parent_path());
    EXPECT_TRUE(report_.moved_aside->filename().string().starts_with("spool.db.corrupt-20"));
    EXPECT_TRUE(testing::read_file(*report_.moved_aside) == damaged);  // kept as it was
    EXPECT_NE(report_.corruption.find("not a database"), std::string::npos) << report_.corruption;
    EXPECT_EQ(report_.salvaged, 300u);
    EXPECT_EQ(report_.events, 300u);
    EXPECT_TRUE(notes_mention(report_, report_.moved_aside->string()));
    EXPECT_TRUE(notes_mention(report_, "salvaged 300 events (seq 1 to 300)"));
    EXPECT_EQ(expect_events_intact(*spool, records), 300u);
    EXPECT_EQ(spool->stored_bytes(), payload_bytes(records));

    // The positions were on the lost page: every sink gets everything again.
    EXPECT_TRUE(notes_mention(report_, "positions could not be read"));
    EXPECT_TRUE(notes_mention(report_, "how many events were lost cannot be told"));
    EXPECT_EQ(spool->position("file"), 0u);
    EXPECT_EQ(spool->position("forward"), 0u);

    // The fresh spool goes on: seqs continue, the salvaged ids are still duplicates.
    EXPECT_EQ(spool->commit(std::vector{records[0], make_event(1000)}, t0).seqs,
              (std::vector<std::uint64_t>{0, 301}));
}

TEST_F(EventSpool, GarbageOverSeveralPagesSalvagesTheRest) {
    const auto records = make_events(1, 300);
    open()->commit(records, t0);
    scribble(0, 3 * 4096);

    auto spool = open();

    ASSERT_TRUE(report_.moved_aside);
    EXPECT_EQ(expect_events_intact(*spool, records), report_.salvaged);
    EXPECT_GT(report_.salvaged, 200u);
    EXPECT_TRUE(notes_mention(report_, fmt::format("salvaged {} events", report_.salvaged)));
}

TEST_F(EventSpool, DamagedPageBehindAValidHeaderIsFoundByTheIntegrityCheck) {
    const auto records = make_events(1, 300);
    {
        auto spool = open();
        spool->commit(records, t0);
        spool->acknowledge("file", 7);
        spool->acknowledge("forward", 5);
        spool->persist_positions_and_compact(t0);
    }
    const auto size = fs::file_size(opts_.path);
    scribble(size - 4096, 4096);  // the whole last page

    auto spool = open();

    ASSERT_TRUE(report_.moved_aside) << ::testing::PrintToString(report_.notes);
    EXPECT_FALSE(report_.corruption.empty());
    EXPECT_EQ(expect_events_intact(*spool, records), report_.salvaged);
    EXPECT_GT(report_.salvaged, 250u);
    EXPECT_EQ(spool->last_seq(), 300u);

    // The positions were readable: they are kept, and the loss is counted exactly (events 1 to
    // 5 were compacted, every sink having them).
    EXPECT_EQ(spool->position("file"), 7u);
    EXPECT_EQ(spool->position("forward"), 5u);
    const auto lost = 295 - report_.salvaged;
    EXPECT_TRUE(notes_mention(report_, lost == 0 ? std::string("no event awaiting a sink was lost")
                                                 : fmt::format("{} events between seq 6 and 300 "
                                                               "were lost",
                                                               lost)))
        << ::testing::PrintToString(report_.notes);
}

// Commits `records` in a child process that dies without closing the spool, so that they are
// left in the WAL only.
void commit_and_crash(const event_spool::options& opts, const std::vector<record_ptr>& records) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        event_spool::open_report report;
        event_spool::open(opts, report).release()->commit(records, t0);
        std::_Exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_GT(fs::file_size(opts.path.string() + "-wal"), 0u);
}

TEST_F(EventSpool, EventsInTheWalAfterACrashAreKept) {
    const auto records = make_events(1, 100);
    commit_and_crash(opts_, records);

    auto spool = open();

    EXPECT_FALSE(report_.moved_aside);
    EXPECT_EQ(report_.events, 100u);
    EXPECT_EQ(expect_events_intact(*spool, records), 100u);
}

TEST_F(EventSpool, SalvagingReadsTheWalOfACrashedSpool) {
    // The first events are in the database file, the later ones only in the WAL.
    const auto records = make_events(1, 200);
    open()->commit(std::vector(records.begin(), records.begin() + 100), t0);
    commit_and_crash(opts_, std::vector(records.begin() + 100, records.end()));
    const fs::path wal = opts_.path.string() + "-wal";
    const std::string wal_before = testing::read_file(wal);

    // Destroy the page of the database file that holds the first event.
    const auto at = testing::read_file(opts_.path).find(records[0]->event.raw);
    ASSERT_NE(at, std::string::npos);
    scribble(at / 4096 * 4096, 4096);

    auto spool = open();

    ASSERT_TRUE(report_.moved_aside);
    EXPECT_TRUE(testing::read_file(report_.moved_aside->string() + "-wal") == wal_before);
    EXPECT_EQ(expect_events_intact(*spool, records), report_.salvaged);
    EXPECT_GT(report_.salvaged, 150u);
    EXPECT_LT(report_.salvaged, 200u);
    const auto later = spool->make_reader()->read_from(101, 1000);
    EXPECT_EQ(later.size(), 100u);
    EXPECT_TRUE(notes_mention(
        report_, fmt::format("{} events between seq 1 and 200 were lost", 200 - report_.salvaged)))
        << ::testing::PrintToString(report_.notes);
}

TEST_F(EventSpool, TruncatedFileIsMovedAsideAndSalvaged) {
    const auto records = make_events(1, 300);
    open()->commit(records, t0);
    const auto size = fs::file_size(opts_.path);
    fs::resize_file(opts_.path, size / 2);

    auto spool = open();

    ASSERT_TRUE(report_.moved_aside) << ::testing::PrintToString(report_.notes);
    EXPECT_EQ(fs::file_size(*report_.moved_aside), size / 2);
    EXPECT_FALSE(report_.corruption.empty());
    EXPECT_EQ(expect_events_intact(*spool, records), report_.salvaged);
    EXPECT_GT(report_.salvaged, 0u);
    EXPECT_LT(report_.salvaged, 300u);
    EXPECT_TRUE(fs::exists(opts_.path));
    EXPECT_EQ(report_.events, report_.salvaged);
}

TEST_F(EventSpool, ASecondCorruptionGetsItsOwnName) {
    open()->commit(make_events(1, 3), t0);
    scribble(0, 100);
    open();
    scribble(0, 100);

    open();

    EXPECT_EQ(files_starting_with(opts_.path.parent_path(), "spool.db.corrupt-").size(), 2u);
}

}  // namespace
}  // namespace seshook

namespace seshook {
namespace {

TEST_F(EventSpool, AddedSinkStartsWithTheEventsSomeSinkHasStillToTake) {
    auto spool = open();
    spool->commit(make_events(1, 10), t0);
    spool->acknowledge("file", 10);
    spool->acknowledge("forward", 4);

    // The new sink starts at the lowest position, so compaction keeps what it has to take.
    EXPECT_EQ(spool->add_sink("audit"), 4u);
    EXPECT_EQ(spool->position("audit"), 4u);
    spool->persist_positions_and_compact(t0);
    EXPECT_EQ(spool->make_reader()->read_from(1, 100).size(), 6u);

    // A sink already configured keeps its position.
    EXPECT_EQ(spool->add_sink("file"), 10u);
}

TEST_F(EventSpool, RemovedSinkNoLongerHoldsEventsBackAndLosesItsRow) {
    auto spool = open();
    spool->commit(make_events(1, 10), t0);
    spool->acknowledge("file", 10);
    spool->acknowledge("forward", 2);

    spool->remove_sink("forward");
    spool->persist_positions_and_compact(t0);

    EXPECT_TRUE(spool->make_reader()->read_from(1, 100).empty());
    EXPECT_EQ(spool->position("forward"), 0u);
    spool->acknowledge("forward", 10);  // ignored: no longer configured
    EXPECT_EQ(query_text(opts_.path, "SELECT COUNT(*) FROM positions WHERE sink = 'forward'"), "0");
    EXPECT_EQ(query_text(opts_.path, "SELECT seq FROM positions WHERE sink = 'file'"), "10");
}

}  // namespace
}  // namespace seshook
