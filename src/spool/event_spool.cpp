#include "seshook/spool/event_spool.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <system_error>
#include <utility>

namespace seshook {
namespace {

namespace fs = std::filesystem;

// A busy connection waits this long for another one before failing. Only seshook writes, so a
// wait comes from an operator's `sqlite3` shell holding a lock.
constexpr int busy_timeout_ms = 5000;

// Set on creation so that salvaging can find the pages of a file whose header is destroyed.
constexpr std::uint32_t spool_page_size = 4096;

// ---------------------------------------------------------------------------------------------
// SQLite handles

struct db_closer {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using db_handle = std::unique_ptr<sqlite3, db_closer>;

struct stmt_finalizer {
    void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};

[[noreturn]] void fail(const fs::path& path, std::string_view what, sqlite3* db, int rc) {
    const char* message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    throw spool_error(fmt::format("spool: {}: {}: {}", path.string(), what, message), rc);
}

bool is_corruption(int code) {
    const int primary = code & 0xff;
    return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

std::int64_t unix_ms(std::chrono::system_clock::time_point when) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
}

// A prepared statement kept for the life of its connection. Every use ends with reset(), so that
// no statement keeps a read transaction open between uses.
class statement {
public:
    statement() = default;
    statement(sqlite3* db, const fs::path& path, std::string_view sql) : db_(db), path_(&path) {
        sqlite3_stmt* stmt = nullptr;
        const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                          SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
        if (rc != SQLITE_OK) fail(path, fmt::format("cannot prepare \"{}\"", sql), db, rc);
        stmt_.reset(stmt);
    }

    statement& bind(int index, std::int64_t value) {
        check(sqlite3_bind_int64(stmt_.get(), index, value), "cannot bind a value");
        return *this;
    }
    statement& bind(int index, std::uint64_t value) {
        return bind(index, static_cast<std::int64_t>(value));
    }
    statement& bind(int index, std::string_view value) {
        check(sqlite3_bind_text64(stmt_.get(), index, value.data(), value.size(), SQLITE_STATIC,
                                  SQLITE_UTF8),
              "cannot bind a value");
        return *this;
    }

    /// Returns true on a row, false when done; throws on failure.
    bool step() {
        const int rc = sqlite3_step(stmt_.get());
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        fail(*path_, fmt::format("\"{}\" failed", sqlite3_sql(stmt_.get())), db_, rc);
    }

    /// Runs a statement that returns no row, then resets it.
    void run() {
        struct resetter {
            statement& s;
            ~resetter() { s.reset(); }
        } guard{*this};
        while (step()) {
        }
    }

    std::int64_t int_at(int column) const { return sqlite3_column_int64(stmt_.get(), column); }
    std::uint64_t seq_at(int column) const {
        return static_cast<std::uint64_t>(std::max<std::int64_t>(0, int_at(column)));
    }
    std::string text_at(int column) const {
        const auto* text = sqlite3_column_text(stmt_.get(), column);
        const int size = sqlite3_column_bytes(stmt_.get(), column);
        return text == nullptr ? std::string()
                               : std::string(reinterpret_cast<const char*>(text),
                                             static_cast<std::size_t>(size));
    }

    void reset() noexcept {
        sqlite3_reset(stmt_.get());
        sqlite3_clear_bindings(stmt_.get());
    }

private:
    void check(int rc, std::string_view what) {
        if (rc != SQLITE_OK) fail(*path_, what, db_, rc);
    }

    sqlite3* db_ = nullptr;
    const fs::path* path_ = nullptr;
    std::unique_ptr<sqlite3_stmt, stmt_finalizer> stmt_;
};

// Resets a statement that returns rows when the scope ends, however it ends.
struct reset_on_exit {
    statement& stmt;
    ~reset_on_exit() { stmt.reset(); }
};

db_handle open_db(const fs::path& path, int flags) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    db_handle db(raw);
    if (rc != SQLITE_OK) fail(path, "cannot open the database", db.get(), rc);
    sqlite3_extended_result_codes(db.get(), 1);
    sqlite3_busy_timeout(db.get(), busy_timeout_ms);
    return db;
}

void exec(sqlite3* db, const fs::path& path, const char* sql) {
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) fail(path, fmt::format("\"{}\" failed", sql), db, rc);
}

// Returns the rows of a one-column query as text, e.g. a PRAGMA's answer.
std::vector<std::string> query_texts(sqlite3* db, const fs::path& path, std::string_view sql) {
    statement stmt(db, path, sql);
    reset_on_exit guard{stmt};
    std::vector<std::string> rows;
    while (stmt.step()) rows.push_back(stmt.text_at(0));
    return rows;
}

// NOTE: the schema is created with IF NOT EXISTS, so an existing spool keeps its data; a file
// whose tables do not match fails when the statements are prepared, and is left untouched.
// seen_by_time lets the maintenance forget expired ids without reading the whole table (a
// day of ids, millions on a busy account); first_seen only grows, so it appends cheaply.
constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS events(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    event TEXT NOT NULL,
    received_at TEXT NOT NULL,
    peer TEXT NOT NULL,
    raw TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS positions(sink TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS seen(id TEXT PRIMARY KEY, first_seen INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS seen_by_time ON seen(first_seen);
)sql";

// Everything stored of one event, as in the events table.
struct event_row {
    std::uint64_t seq = 0;
    std::string id;
    std::string event;
    std::string received_at;
    std::string peer;
    std::string raw;
};

// Returns true when the row still makes a valid record with its own id.
bool row_is_valid(const event_row& row) {
    try {
        const auto rec = rebuild_record(row.raw, row.received_at, row.peer);
        return !row.id.empty() && rec->event.id == row.id;
    } catch (const std::invalid_argument&) {
        return false;
    }
}

// ---------------------------------------------------------------------------------------------
// Salvaging rows from a damaged file, page by page, when SQLite cannot read it any more.

std::uint32_t be16(const unsigned char* p) { return (std::uint32_t{p[0]} << 8) | p[1]; }
std::uint32_t be32(const unsigned char* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           p[3];
}

// Reads an SQLite varint at `pos` of `data[0, end)`; false when it runs past the end.
bool read_varint(const unsigned char* data, std::size_t end, std::size_t& pos, std::uint64_t& out) {
    out = 0;
    for (int i = 0; i < 9; ++i) {
        if (pos >= end) return false;
        const unsigned char byte = data[pos++];
        if (i == 8) {
            out = (out << 8) | byte;
            return true;
        }
        out = (out << 7) | (byte & 0x7f);
        if ((byte & 0x80) == 0) return true;
    }
    return true;
}

// The latest committed content of every page of a database file and its WAL, read on demand.
class page_source {
public:
    explicit page_source(const fs::path& db_path)
        : db_(db_path, std::ios::binary),
          wal_(fs::path(db_path.string() + "-wal"), std::ios::binary) {
        read_header();
        read_wal_index();
        std::error_code ec;
        const auto size = fs::file_size(db_path, ec);
        page_count_ = ec ? 0 : static_cast<std::uint32_t>(size / page_size_);
        for (const auto& [pgno, offset] : wal_pages_) page_count_ = std::max(page_count_, pgno);
    }

    std::uint32_t page_count() const noexcept { return page_count_; }
    std::uint32_t page_size() const noexcept { return page_size_; }
    std::uint32_t usable_size() const noexcept { return page_size_ - reserved_; }

    /// Returns page `pgno` (1-based); empty when it cannot be read whole.
    std::string page(std::uint32_t pgno) {
        std::string data(page_size_, '\0');
        auto read_at = [&](std::ifstream& in, std::uint64_t offset) {
            in.clear();
            in.seekg(static_cast<std::streamoff>(offset));
            in.read(data.data(), page_size_);
            return in.gcount() == static_cast<std::streamsize>(page_size_);
        };
        const auto in_wal = wal_pages_.find(pgno);
        const bool ok = in_wal != wal_pages_.end()
                            ? read_at(wal_, in_wal->second)
                            : read_at(db_, std::uint64_t{pgno - 1} * page_size_);
        if (!ok) data.clear();
        return data;
    }

private:
    static bool valid_page_size(std::uint32_t size) {
        return size >= 512 && size <= 65536 && (size & (size - 1)) == 0;
    }

    // Takes the page size from the database header, else from the WAL header, else the size
    // seshook creates its spools with.
    void read_header() {
        unsigned char header[100] = {};
        db_.read(reinterpret_cast<char*>(header), sizeof header);
        if (db_.gcount() == sizeof header &&
            std::string_view(reinterpret_cast<char*>(header), 16) ==
                std::string_view("SQLite format 3\0", 16)) {
            std::uint32_t size = be16(header + 16);
            if (size == 1) size = 65536;
            if (valid_page_size(size) && header[20] < size / 2) {
                page_size_ = size;
                reserved_ = header[20];
                return;
            }
        }
        unsigned char wal_header[32] = {};
        wal_.read(reinterpret_cast<char*>(wal_header), sizeof wal_header);
        if (wal_.gcount() == sizeof wal_header && (be32(wal_header) & ~1u) == 0x377f0682u &&
            valid_page_size(be32(wal_header + 8))) {
            page_size_ = be32(wal_header + 8);
        }
    }

    // Indexes the WAL frames of committed transactions, the last frame of a page winning.
    // NOTE: frame checksums are not verified; the salts and the commit marks decide which
    // frames count, which is enough to leave out a transaction that never committed.
    void read_wal_index() {
        unsigned char header[32] = {};
        wal_.clear();
        wal_.seekg(0);
        wal_.read(reinterpret_cast<char*>(header), sizeof header);
        if (wal_.gcount() != sizeof header || (be32(header) & ~1u) != 0x377f0682u ||
            be32(header + 8) != page_size_) {
            return;
        }
        std::map<std::uint32_t, std::uint64_t> pending;
        std::uint64_t offset = sizeof header;
        for (;;) {
            unsigned char frame[24] = {};
            wal_.seekg(static_cast<std::streamoff>(offset));
            wal_.read(reinterpret_cast<char*>(frame), sizeof frame);
            if (wal_.gcount() != sizeof frame) break;
            if (be32(frame + 8) != be32(header + 16) || be32(frame + 12) != be32(header + 20))
                break;
            pending[be32(frame)] = offset + sizeof frame;
            if (be32(frame + 4) != 0) {
                for (const auto& [pgno, at] : pending) wal_pages_[pgno] = at;
                pending.clear();
            }
            offset += sizeof frame + page_size_;
        }
    }

    std::ifstream db_;
    std::ifstream wal_;
    std::uint32_t page_size_ = spool_page_size;
    std::uint32_t reserved_ = 0;
    std::uint32_t page_count_ = 0;
    std::map<std::uint32_t, std::uint64_t> wal_pages_;
};

// Returns the payload of the cell at `cell` of a table leaf page, following its overflow pages;
// nullopt when it is damaged.
std::optional<std::string> cell_payload(page_source& pages, const std::string& page,
                                        std::size_t cell, std::uint64_t& rowid) {
    const auto* data = reinterpret_cast<const unsigned char*>(page.data());
    const std::size_t usable = pages.usable_size();
    std::uint64_t size = 0;
    if (!read_varint(data, usable, cell, size) || !read_varint(data, usable, cell, rowid)) {
        return std::nullopt;
    }
    if (size > (std::uint64_t{1} << 30)) return std::nullopt;

    // How much of the payload sits on the page itself, per the file format.
    const std::uint64_t max_local = usable - 35;
    const std::uint64_t min_local = ((usable - 12) * 32 / 255) - 23;
    std::uint64_t local = size;
    if (size > max_local) {
        const std::uint64_t k = min_local + ((size - min_local) % (usable - 4));
        local = k <= max_local ? k : min_local;
    }
    if (cell + local > usable || (local < size && cell + local + 4 > usable)) return std::nullopt;
    std::string payload(page.data() + cell, local);

    std::uint32_t next = local < size ? be32(data + cell + local) : 0;
    std::uint32_t hops = 0;
    while (payload.size() < size) {
        if (next == 0 || next > pages.page_count() || ++hops > pages.page_count()) {
            return std::nullopt;
        }
        const std::string overflow = pages.page(next);
        if (overflow.empty()) return std::nullopt;
        const auto take = std::min<std::uint64_t>(usable - 4, size - payload.size());
        payload.append(overflow.data() + 4, take);
        next = be32(reinterpret_cast<const unsigned char*>(overflow.data()));
    }
    return payload;
}

// Decodes a record holding an events row: a NULL (the seq, kept as the rowid) then five texts.
std::optional<event_row> decode_event_row(const std::string& payload, std::uint64_t rowid) {
    const auto* data = reinterpret_cast<const unsigned char*>(payload.data());
    const std::size_t end = payload.size();
    std::size_t pos = 0;
    std::uint64_t header_size = 0;
    if (!read_varint(data, end, pos, header_size) || header_size > end) return std::nullopt;

    std::vector<std::uint64_t> types;
    while (pos < header_size) {
        std::uint64_t type = 0;
        if (!read_varint(data, header_size, pos, type)) return std::nullopt;
        types.push_back(type);
    }
    if (types.size() != 6 || types[0] != 0) return std::nullopt;

    std::string texts[5];
    std::size_t body = header_size;
    for (int i = 0; i < 5; ++i) {
        const std::uint64_t type = types[i + 1];
        if (type < 13 || type % 2 == 0) return std::nullopt;
        const std::uint64_t length = (type - 13) / 2;
        if (body + length > end) return std::nullopt;
        texts[i].assign(payload.data() + body, length);
        body += length;
    }
    return event_row{rowid,
                     std::move(texts[0]),
                     std::move(texts[1]),
                     std::move(texts[2]),
                     std::move(texts[3]),
                     std::move(texts[4])};
}

// Collects every row shaped like an events row from the table leaf pages of the file; `invalid`
// counts those that no longer make a valid record.
void scan_pages(const fs::path& path, std::map<std::uint64_t, event_row>& rows,
                std::uint64_t& invalid) {
    page_source pages(path);
    for (std::uint32_t pgno = 1; pgno <= pages.page_count(); ++pgno) {
        const std::string page = pages.page(pgno);
        if (page.empty()) continue;
        const auto* data = reinterpret_cast<const unsigned char*>(page.data());
        const std::size_t header = pgno == 1 ? 100 : 0;
        if (data[header] != 0x0d) continue;  // not a table leaf

        const std::uint32_t cells = be16(data + header + 3);
        for (std::uint32_t i = 0; i < cells; ++i) {
            const std::size_t pointer = header + 8 + 2 * std::size_t{i};
            if (pointer + 2 > pages.usable_size()) break;
            const std::size_t cell = be16(data + pointer);
            if (cell < pointer + 2 || cell >= pages.usable_size()) continue;
            std::uint64_t rowid = 0;
            const auto payload = cell_payload(pages, page, cell, rowid);
            if (!payload) continue;
            auto row = decode_event_row(*payload, rowid);
            if (!row || rows.contains(rowid)) continue;
            if (!row_is_valid(*row)) {
                ++invalid;
                continue;
            }
            rows.emplace(rowid, std::move(*row));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Moving a corrupt spool aside

std::string utc_stamp(std::chrono::system_clock::time_point when) {
    const std::time_t seconds = std::chrono::system_clock::to_time_t(when);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                       utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
}

// Renames the database and its companion files to `<path>.corrupt-<stamp>`, with a counter
// when that name is taken, and returns the new name of the database.
fs::path move_aside(const fs::path& path, std::chrono::system_clock::time_point now) {
    const std::string base = path.string() + ".corrupt-" + utc_stamp(now);
    std::string target = base;
    for (int n = 2; fs::exists(target) || fs::exists(target + "-wal"); ++n) {
        target = fmt::format("{}-{}", base, n);
    }
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
        const fs::path from = path.string() + suffix;
        std::error_code ec;
        if (!fs::exists(from, ec)) continue;
        fs::rename(from, target + suffix, ec);
        if (ec) {
            throw spool_error(fmt::format("spool: {}: cannot move the corrupt spool to {}: {}",
                                          path.string(), target + suffix, ec.message()));
        }
    }
    return target;
}

// What could be recovered from a corrupt spool.
struct salvaged {
    std::map<std::uint64_t, event_row> rows;
    std::optional<std::map<std::string, std::uint64_t>> positions;
    std::optional<std::vector<std::pair<std::string, std::int64_t>>> seen;
    std::uint64_t last_seq = 0;  // the highest seq ever given, when readable
};

// Reads what SQLite can still read of the moved-aside spool: positions and seen ids when they
// are readable, and events until the first damaged page. Returns true when every event row was
// read; otherwise `error` holds SQLite's message.
bool salvage_with_sql(const fs::path& path, salvaged& out, std::string& error);

// Notes how many events were lost. In an intact spool the seqs after the lowest position up to
// the last seq are all present (compaction deletes only up to that position, and a failed commit
// gives out no seq), so the count is exact when the positions and the last seq were readable.
void report_losses(const salvaged& found, event_spool::open_report& report) {
    if (!found.positions || found.last_seq == 0) {
        report.notes.push_back(
            "how many events were lost cannot be told: the positions or the last seq of the "
            "corrupt spool are unreadable");
        return;
    }
    std::uint64_t floor = found.last_seq;
    for (const auto& [sink, seq] : *found.positions) floor = std::min(floor, seq);
    std::uint64_t kept = 0;
    for (const auto& [seq, row] : found.rows) kept += seq > floor && seq <= found.last_seq ? 1 : 0;
    const std::uint64_t expected = found.last_seq - floor;
    if (kept == expected) {
        report.notes.push_back("no event awaiting a sink was lost");
    } else {
        report.notes.push_back(fmt::format("{} events between seq {} and {} were lost",
                                           expected - kept, floor + 1, found.last_seq));
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------------

// The writing connection and its statements.
struct event_spool::connection {
    fs::path path;
    db_handle db;
    statement begin;
    statement commit;
    statement rollback;
    statement insert_event;
    statement mark_seen;
    statement read_positions;
    statement upsert_position;
    statement delete_position;
    statement measure_upto;
    statement delete_upto;
    statement prune_seen;
    statement raise_sequence;
    statement insert_sequence;

    connection(fs::path p, spool_durability durability) : path(std::move(p)) {
        db = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
        // Until the file is known to be sound, closing must not checkpoint: that would write
        // the WAL into a damaged file and empty the WAL, which salvaging still needs.
        checkpoint_on_close(false);
        configure(durability);
        check_integrity();
        exec(db.get(), path, schema_sql);
        prepare();
    }

    void checkpoint_on_close(bool on) {
        sqlite3_db_config(db.get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, on ? 0 : 1, nullptr);
    }

    void configure(spool_durability durability) {
        exec(db.get(), path, fmt::format("PRAGMA page_size={}", spool_page_size).c_str());
        const auto mode = query_texts(db.get(), path, "PRAGMA journal_mode=WAL");
        if (mode.empty() || mode.front() != "wal") {
            throw spool_error(
                fmt::format("spool: {}: cannot switch the database to WAL mode", path.string()));
        }
        exec(db.get(), path,
             durability == spool_durability::fsync ? "PRAGMA synchronous=FULL"
                                                   : "PRAGMA synchronous=NORMAL");
        // Deleted events are overwritten with zeros, so that salvaging a damaged file never
        // brings back events that every sink already had.
        exec(db.get(), path, "PRAGMA secure_delete=ON");
        exec(db.get(), path, "PRAGMA journal_size_limit=67108864");
    }

    // NOTE: quick_check reads every page, so opening a large spool takes a moment; it is what
    // tells a damaged file apart before seshook builds on it.
    void check_integrity() {
        const auto problems = query_texts(db.get(), path, "PRAGMA quick_check(8)");
        if (problems.size() == 1 && problems.front() == "ok") return;
        std::string message;
        for (auto p : problems) {
            std::replace(p.begin(), p.end(), '\n', ' ');
            message += (message.empty() ? "" : "; ") + p;
        }
        throw spool_error(
            fmt::format("spool: {}: the integrity check failed: {}", path.string(), message),
            SQLITE_CORRUPT);
    }

    void prepare() {
        sqlite3* h = db.get();
        begin = statement(h, path, "BEGIN IMMEDIATE");
        commit = statement(h, path, "COMMIT");
        rollback = statement(h, path, "ROLLBACK");
        insert_event = statement(
            h, path,
            "INSERT INTO events(seq, id, event, received_at, peer, raw) VALUES(?, ?, ?, ?, ?, ?)");
        // An id seen before the window (?3) is taken as new: it counts from now on.
        mark_seen = statement(h, path,
                              "INSERT INTO seen(id, first_seen) VALUES(?1, ?2) ON CONFLICT(id) "
                              "DO UPDATE SET first_seen = excluded.first_seen "
                              "WHERE seen.first_seen <= ?3");
        read_positions = statement(h, path, "SELECT sink, seq FROM positions");
        upsert_position = statement(h, path,
                                    "INSERT INTO positions(sink, seq) VALUES(?, ?) "
                                    "ON CONFLICT(sink) DO UPDATE SET seq = excluded.seq");
        delete_position = statement(h, path, "DELETE FROM positions WHERE sink = ?");
        measure_upto =
            statement(h, path,
                      "SELECT COUNT(*), COALESCE(SUM(LENGTH(CAST(raw AS BLOB))), 0) FROM events "
                      "WHERE seq <= ?");
        delete_upto = statement(h, path, "DELETE FROM events WHERE seq <= ?");
        prune_seen = statement(h, path, "DELETE FROM seen WHERE first_seen <= ?");
        raise_sequence = statement(
            h, path, "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'events'");
        insert_sequence =
            statement(h, path, "INSERT INTO sqlite_sequence(name, seq) VALUES('events', ?)");
    }

    /// Returns true when the id was not seen within the window; marks it seen from `now_ms`.
    bool mark_new(std::string_view id, std::int64_t now_ms, std::int64_t expiry_ms) {
        mark_seen.bind(1, id).bind(2, now_ms).bind(3, expiry_ms).run();
        return sqlite3_changes(db.get()) > 0;
    }

    /// Makes the next seq given higher than `seq`, e.g. the last seq of a salvaged spool.
    void keep_sequence_above(std::uint64_t seq) {
        if (seq == 0) return;
        raise_sequence.bind(1, seq).run();
        if (sqlite3_changes(db.get()) == 0) insert_sequence.bind(1, seq).run();
    }

    void insert(const event_row& row) {
        insert_event.bind(1, row.seq)
            .bind(2, row.id)
            .bind(3, row.event)
            .bind(4, row.received_at)
            .bind(5, row.peer)
            .bind(6, row.raw)
            .run();
    }

    /// Undoes the open transaction, if any; never throws, since it runs on a failure path.
    void rollback_quietly() noexcept {
        if (sqlite3_get_autocommit(db.get()) != 0) return;
        try {
            rollback.run();
        } catch (const spool_error&) {
        }
    }

    /// Runs `work` in one write transaction; on failure rolls it back and rethrows.
    template <typename Work>
    void transaction(Work&& work) {
        begin.run();
        try {
            work();
            commit.run();
        } catch (...) {
            rollback_quietly();
            throw;
        }
    }
};

event_spool::event_spool(const options& opts, std::unique_ptr<connection> db)
    : path_(opts.path),
      max_bytes_(opts.max_bytes),
      dedup_window_(opts.dedup_window),
      db_(std::move(db)) {
    for (const auto& name : opts.sink_names) positions_.try_emplace(name, 0);
}

event_spool::~event_spool() = default;

std::unique_ptr<event_spool> event_spool::open(const options& opts, open_report& report) {
    report = open_report{};
    std::error_code ec;
    if (opts.path.has_parent_path()) fs::create_directories(opts.path.parent_path(), ec);
    if (ec) {
        throw spool_error(fmt::format("spool: {}: cannot create its folder: {}", opts.path.string(),
                                      ec.message()));
    }

    try {
        std::unique_ptr<event_spool> spool(
            new event_spool(opts, std::make_unique<connection>(opts.path, opts.durability)));
        spool->load_state(report);
        spool->reconcile_positions(report);
        spool->db_->checkpoint_on_close(true);
        return spool;
    } catch (const spool_error& e) {
        if (!is_corruption(e.sqlite_code())) throw;
        report.corruption = e.what();
    }
    return recover(opts, report);
}

std::unique_ptr<event_spool> event_spool::recover(const options& opts, open_report& report) {
    const auto now = std::chrono::system_clock::now();

    // Keep the damaged files, under a name that says what they are and when they were found.
    const fs::path aside = move_aside(opts.path, now);
    report.moved_aside = aside;
    report.notes.push_back(fmt::format("the spool was corrupt ({}); moved it to {}",
                                       report.corruption, aside.string()));

    // Read what SQLite still reads, then, past the damage, every page that holds event rows.
    salvaged found;
    std::string sql_error;
    std::uint64_t invalid = 0;
    if (!salvage_with_sql(aside, found, sql_error)) scan_pages(aside, found.rows, invalid);
    report.salvaged = found.rows.size();
    if (found.rows.empty()) {
        report.notes.push_back("salvaged no event from the corrupt spool");
    } else {
        report.notes.push_back(
            fmt::format("salvaged {} events (seq {} to {}) from the corrupt spool",
                        found.rows.size(), found.rows.begin()->first, found.rows.rbegin()->first));
    }
    report_losses(found, report);
    if (invalid > 0) {
        report.notes.push_back(
            fmt::format("{} damaged event rows could not be salvaged; they remain in {}", invalid,
                        aside.string()));
    }

    // Without the positions, every sink gets the salvaged events again: a repeat is better
    // than a loss.
    if (!found.positions && !found.rows.empty()) {
        found.positions.emplace();
        for (const auto& name : opts.sink_names) {
            (*found.positions)[name] = found.rows.begin()->first - 1;
        }
        report.notes.push_back(fmt::format(
            "the sink positions could not be read ({}); every sink receives the salvaged events "
            "again",
            sql_error));
    }
    if (!found.seen) {
        report.notes.push_back(
            "the dedup ids could not be read; only the ids of the salvaged events are kept");
    }

    // Build a fresh spool holding what was found, in one transaction.
    std::unique_ptr<event_spool> spool(
        new event_spool(opts, std::make_unique<connection>(opts.path, opts.durability)));
    auto& c = *spool->db_;
    c.transaction([&] {
        for (const auto& [seq, row] : found.rows) c.insert(row);
        if (found.seen) {
            for (const auto& [id, first_seen] : *found.seen) c.mark_new(id, first_seen, 0);
        } else {
            for (const auto& [seq, row] : found.rows) c.mark_new(row.id, unix_ms(now), 0);
        }
        if (found.positions) {
            for (const auto& [sink, seq] : *found.positions) {
                c.upsert_position.bind(1, sink).bind(2, seq).run();
            }
        }
        c.keep_sequence_above(found.last_seq);
    });
    spool->load_state(report);
    spool->reconcile_positions(report);
    spool->db_->checkpoint_on_close(true);
    return spool;
}

void event_spool::load_state(open_report& report) {
    sqlite3* h = db_->db.get();
    statement totals(h, path_,
                     "SELECT COUNT(*), COALESCE(SUM(LENGTH(CAST(raw AS BLOB))), 0), "
                     "MAX(COALESCE((SELECT MAX(seq) FROM events), 0), "
                     "    COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0), "
                     "    COALESCE((SELECT MAX(seq) FROM positions), 0)) FROM events");
    reset_on_exit guard{totals};
    totals.step();
    report.events = totals.seq_at(0);
    report.bytes = totals.seq_at(1);
    report.last_seq = totals.seq_at(2);
    stored_bytes_.store(report.bytes);
    last_seq_.store(report.last_seq);
}

void event_spool::reconcile_positions(open_report& report) {
    auto& c = *db_;
    std::map<std::string, std::uint64_t, std::less<>> stored;
    {
        reset_on_exit guard{c.read_positions};
        while (c.read_positions.step()) {
            stored[c.read_positions.text_at(0)] = c.read_positions.seq_at(1);
        }
    }

    // A configured sink resumes where it was; a new one starts with the events still stored.
    // NOTE: a new name is often a renamed sink: starting it after the last event would let
    // compaction delete the backlog the old name had not taken, events answered 200. Any other
    // new sink merely gets the recent events that some sink has not taken yet.
    std::uint64_t oldest = 0;
    {
        statement first(c.db.get(), path_, "SELECT COALESCE(MIN(seq), 0) FROM events");
        reset_on_exit guard{first};
        first.step();
        oldest = first.seq_at(0);
    }
    for (auto& [name, position] : positions_) {
        const auto found = stored.find(name);
        if (found != stored.end()) {
            position.store(found->second);
            continue;
        }
        position.store(oldest == 0 ? last_seq() : oldest - 1);
        if (oldest != 0) {
            report.notes.push_back(fmt::format(
                "sink {} is new to the spool: it starts with the {} events still stored (seq {} "
                "to {})",
                name, report.events, oldest, last_seq()));
        }
    }

    // A position kept for a sink that is no longer configured would hold events forever.
    std::vector<std::string> removed;
    for (const auto& [name, seq] : stored) {
        if (positions_.contains(name)) continue;
        removed.push_back(name);
        report.notes.push_back(fmt::format(
            "dropped the position of sink {} (seq {}), which is no longer configured", name, seq));
    }
    c.transaction([&] {
        for (const auto& name : removed) c.delete_position.bind(1, name).run();
        write_positions();
    });
}

void event_spool::write_positions() {
    auto& c = *db_;
    const std::shared_lock lock(positions_mutex_);
    // NOTE: deleted at every write, a no-op after the first: the list holds only the sinks
    // removed while running, a handful at most.
    for (const auto& name : removed_positions_) c.delete_position.bind(1, name).run();
    for (const auto& [name, position] : positions_) {
        c.upsert_position.bind(1, name).bind(2, position.load()).run();
    }
}

event_spool::commit_result event_spool::commit(std::span<const record_ptr> records,
                                               std::chrono::system_clock::time_point now) {
    auto& c = *db_;
    const bool dedup = dedup_window_.count() > 0;
    const std::int64_t now_ms = unix_ms(now);
    const std::int64_t expiry_ms = now_ms - dedup_window_.count();

    commit_result result;
    result.seqs.reserve(records.size());
    std::uint64_t seq = last_seq();
    std::uint64_t bytes = 0;
    c.transaction([&] {
        for (const auto& rec : records) {
            const auto& e = rec->event;
            if (dedup && !c.mark_new(e.id, now_ms, expiry_ms)) {
                result.seqs.push_back(0);
                ++result.duplicates;
                continue;
            }
            c.insert(event_row{++seq, e.id, e.event, rec->received_at, rec->peer, e.raw});
            result.seqs.push_back(seq);
            bytes += e.raw.size();
        }

        // NOTE: the positions ride along (a few rows on one page), so that after a crash the
        // sinks repeat only what they took since the last commit, not since the last
        // maintenance.
        write_positions();
    });

    last_seq_.store(seq, std::memory_order_release);
    stored_bytes_.fetch_add(bytes, std::memory_order_acq_rel);
    transactions_.fetch_add(1, std::memory_order_relaxed);
    return result;
}

void event_spool::persist_positions_and_compact(std::chrono::system_clock::time_point now) {
    auto& c = *db_;

    // Every configured sink has the events up to the lowest position; with no sink configured
    // no one waits for any event.
    std::uint64_t floor = last_seq();
    {
        const std::shared_lock lock(positions_mutex_);
        for (const auto& [name, position] : positions_) floor = std::min(floor, position.load());
    }

    std::uint64_t freed = 0;
    c.transaction([&] {
        write_positions();
        {
            reset_on_exit guard{c.measure_upto};
            c.measure_upto.bind(1, floor).step();
            freed = c.measure_upto.seq_at(1);
        }
        c.delete_upto.bind(1, floor).run();
        c.prune_seen.bind(1, unix_ms(now) - dedup_window_.count()).run();
    });
    stored_bytes_.fetch_sub(freed, std::memory_order_acq_rel);
}

std::uint64_t event_spool::position(std::string_view sink) const {
    const std::shared_lock lock(positions_mutex_);
    const auto found = positions_.find(sink);
    return found == positions_.end() ? 0 : found->second.load(std::memory_order_acquire);
}

void event_spool::acknowledge(std::string_view sink, std::uint64_t seq) {
    const std::shared_lock lock(positions_mutex_);
    const auto found = positions_.find(sink);
    if (found == positions_.end()) return;
    auto& position = found->second;
    std::uint64_t current = position.load(std::memory_order_relaxed);
    while (current < seq && !position.compare_exchange_weak(current, seq)) {
    }
}

std::uint64_t event_spool::add_sink(std::string_view sink) {
    const std::unique_lock lock(positions_mutex_);
    if (const auto found = positions_.find(sink); found != positions_.end()) {
        return found->second.load();
    }

    // NOTE: as at open, a new name starts with the events some sink has still to take, so that
    // a renamed sink (added before its old name is removed) loses none of its backlog; starting
    // at the lowest position also keeps compaction, which deletes only up to it, from taking
    // any of them away.
    std::uint64_t start = last_seq();
    for (const auto& [name, position] : positions_) start = std::min(start, position.load());
    positions_.try_emplace(std::string(sink), start);
    std::erase(removed_positions_, sink);
    return start;
}

void event_spool::remove_sink(std::string_view sink) {
    const std::unique_lock lock(positions_mutex_);
    const auto found = positions_.find(sink);
    if (found == positions_.end()) return;
    positions_.erase(found);
    removed_positions_.emplace_back(sink);
}

// ---------------------------------------------------------------------------------------------

struct event_spool::reader::impl {
    fs::path path;
    db_handle db;
    statement select;

    explicit impl(fs::path p) : path(std::move(p)) {
        db = open_db(path, SQLITE_OPEN_READONLY);
        select = statement(db.get(), path,
                           "SELECT seq, id, event, received_at, peer, raw FROM events "
                           "WHERE seq >= ? ORDER BY seq LIMIT ?");
    }
};

event_spool::reader::reader(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}
event_spool::reader::~reader() = default;

std::vector<stored_event> event_spool::reader::read_from(std::uint64_t first_seq,
                                                         std::size_t limit) {
    auto& select = impl_->select;
    reset_on_exit guard{select};
    const auto capped = std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max());
    select.bind(1, first_seq).bind(2, static_cast<std::int64_t>(capped));

    std::vector<stored_event> events;
    while (select.step()) {
        const std::uint64_t seq = select.seq_at(0);
        try {
            events.push_back(
                {seq, rebuild_record(select.text_at(5), select.text_at(3), select.text_at(4))});
        } catch (const std::invalid_argument& e) {
            throw spool_error(fmt::format("spool: {}: event seq {} is no longer a valid event: {}",
                                          impl_->path.string(), seq, e.what()));
        }
    }
    return events;
}

std::unique_ptr<event_spool::reader> event_spool::make_reader() const {
    return std::unique_ptr<reader>(new reader(std::make_unique<reader::impl>(path_)));
}

// ---------------------------------------------------------------------------------------------

namespace {

bool salvage_with_sql(const fs::path& path, salvaged& out, std::string& error) {
    db_handle db;
    try {
        db = open_db(path, SQLITE_OPEN_READONLY);
    } catch (const spool_error& e) {
        error = e.what();
        return false;
    }

    // Each table is read on its own, so that damage in one does not hide the others.
    auto read = [&](std::string_view sql, auto&& on_row) {
        try {
            statement stmt(db.get(), path, sql);
            reset_on_exit guard{stmt};
            while (stmt.step()) on_row(stmt);
            return true;
        } catch (const spool_error& e) {
            if (error.empty()) error = e.what();
            return false;
        }
    };

    std::map<std::string, std::uint64_t> positions;
    if (read("SELECT sink, seq FROM positions",
             [&](statement& s) { positions[s.text_at(0)] = s.seq_at(1); })) {
        out.positions = std::move(positions);
    }
    std::vector<std::pair<std::string, std::int64_t>> seen;
    if (read("SELECT id, first_seen FROM seen",
             [&](statement& s) { seen.emplace_back(s.text_at(0), s.int_at(1)); })) {
        out.seen = std::move(seen);
    }
    read("SELECT seq FROM sqlite_sequence WHERE name = 'events'",
         [&](statement& s) { out.last_seq = s.seq_at(0); });

    return read("SELECT seq, id, event, received_at, peer, raw FROM events ORDER BY seq",
                [&](statement& s) {
                    event_row row{s.seq_at(0),  s.text_at(1), s.text_at(2),
                                  s.text_at(3), s.text_at(4), s.text_at(5)};
                    if (row_is_valid(row)) out.rows.emplace(row.seq, std::move(row));
                });
}

}  // namespace

}  // namespace seshook
