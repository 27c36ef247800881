#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "seshook/event/record.hpp"

namespace seshook {

/// How hard a commit of the spool presses its data to the disk; see `[spool] durability`.
enum class spool_durability {
    fsync,  // PRAGMA synchronous=FULL: a commit is on stable storage before it returns
    write,  // PRAGMA synchronous=NORMAL: a commit survives a crash of seshook, not of the machine
};

/// A failure of the spool. The message names the database file and, when SQLite gave one, its
/// message: "spool: var/spool.db: cannot insert an event: disk I/O error".
class spool_error : public std::runtime_error {
public:
    spool_error(const std::string& what, int sqlite_code = 0)
        : std::runtime_error(what), sqlite_code_(sqlite_code) {}

    /// Returns SQLite's extended result code, or 0 when the failure did not come from SQLite.
    int sqlite_code() const noexcept { return sqlite_code_; }

private:
    int sqlite_code_;
};

/// An event kept in the spool, with the sequence number the spool gave it.
struct stored_event {
    std::uint64_t seq = 0;
    record_ptr rec;
};

/// The durable spool: every accepted event is committed here before the callback is answered,
/// and stays until every configured sink has acknowledged it.
///
/// The spool is one SQLite database in WAL mode. Its tables, for an operator with the `sqlite3`
/// shell (reading while seshook runs is safe, WAL readers never block its writer):
///
///     events(seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- strictly increasing, never reused
///            id TEXT,           -- the event id (32 hex digits), see event_id.hpp
///            event TEXT,        -- the event name, "delivered", "bounce", ...
///            received_at TEXT,  -- RFC 3339 UTC with milliseconds
///            peer TEXT,         -- the client address
///            raw TEXT)          -- the event's exact bytes as received
///     positions(sink TEXT PRIMARY KEY,  -- a configured sink
///               seq INTEGER)            -- the last seq that sink has (0: none yet)
///     seen(id TEXT PRIMARY KEY,         -- an event id accepted within the dedup window
///          first_seen INTEGER)          -- when it was accepted, Unix milliseconds (indexed)
///
/// e.g. `sqlite3 var/spool.db 'SELECT sink, seq FROM positions'` shows how far each sink is.
///
/// Threads: commit() and persist_positions_and_compact() belong to one thread (the
/// spool_writer's); the other methods may be called from any thread.
class event_spool {
public:
    struct options {
        std::filesystem::path path;
        spool_durability durability = spool_durability::fsync;
        std::uint64_t max_bytes = std::uint64_t{1} << 30;
        std::chrono::milliseconds dedup_window = std::chrono::hours(24);  // 0: dedup off
        std::vector<std::string> sink_names;                              // the configured sinks
    };

    /// What open() found, for the daemon to log.
    struct open_report {
        std::uint64_t events = 0;  // events kept, awaiting some sink
        std::uint64_t bytes = 0;   // their payload bytes
        std::uint64_t last_seq = 0;
        std::vector<std::string> notes;  // one sentence each, e.g. a dropped sink position
        std::optional<std::filesystem::path> moved_aside;  // where a corrupt spool was moved
        std::string corruption;      // SQLite's message about the corrupt spool, "" when none
        std::uint64_t salvaged = 0;  // events recovered from the corrupt spool
    };

    /// Opens or creates the spool (and its folder). A corrupt or truncated database is moved
    /// aside with its -wal and -shm files to `<path>.corrupt-<yyyymmddThhmmssZ>`, the events
    /// still readable in it are salvaged into a fresh spool, and `report` says so. Throws
    /// spool_error on any other failure.
    static std::unique_ptr<event_spool> open(const options& opts, open_report& report);

    ~event_spool();
    event_spool(const event_spool&) = delete;
    event_spool& operator=(const event_spool&) = delete;

    /// The outcome of commit(): one seq per record, in order, 0 for a duplicate.
    struct commit_result {
        std::vector<std::uint64_t> seqs;
        std::size_t duplicates = 0;
    };

    /// Stores the records in one transaction, skipping those whose id was seen within the dedup
    /// window (also earlier in `records`), and gives each stored one the next seq; the
    /// acknowledged positions are persisted in the same transaction. Writer thread only; throws
    /// spool_error, and then nothing was stored.
    commit_result commit(std::span<const record_ptr> records,
                         std::chrono::system_clock::time_point now);

    /// Writes the acknowledged positions to the database, deletes the events every configured
    /// sink has, and forgets the ids seen before the dedup window. Writer thread only; throws
    /// spool_error, and then nothing was changed.
    void persist_positions_and_compact(std::chrono::system_clock::time_point now);

    /// Returns the payload bytes of the events stored now.
    std::uint64_t stored_bytes() const noexcept {
        return stored_bytes_.load(std::memory_order_acquire);
    }

    std::uint64_t max_bytes() const noexcept { return max_bytes_; }

    /// Returns the last seq `sink` has acknowledged; 0 for a sink that is not configured.
    std::uint64_t position(std::string_view sink) const;

    /// Records that `sink` has every event up to `seq`, in memory (a lower seq than the current
    /// position is ignored, and so is a sink that is not configured); the writer persists it.
    void acknowledge(std::string_view sink, std::uint64_t seq);

    /// Configures one more sink while the spool is open and returns its position: where it was
    /// for a sink already configured, otherwise the lowest position of the others (the sink
    /// starts with the events some sink has still to take). Thread-safe.
    std::uint64_t add_sink(std::string_view sink);

    /// Stops waiting for `sink`: its position is forgotten (in the database at the writer's next
    /// commit or maintenance), and the events only it had still to take may be compacted away.
    /// Thread-safe; a sink that is not configured is ignored.
    void remove_sink(std::string_view sink);

    /// Returns the seq of the last event stored, 0 when none ever was.
    std::uint64_t last_seq() const noexcept { return last_seq_.load(std::memory_order_acquire); }

    /// Returns how many commit transactions succeeded since open (group commit makes it smaller
    /// than the number of submissions).
    std::uint64_t transactions() const noexcept {
        return transactions_.load(std::memory_order_relaxed);
    }

    const std::filesystem::path& path() const noexcept { return path_; }

    /// A read-only connection to the spool for one thread, e.g. a sink worker catching up.
    class reader {
    public:
        ~reader();
        reader(const reader&) = delete;
        reader& operator=(const reader&) = delete;

        /// Returns up to `limit` stored events with seq >= `first_seq`, in seq order. Throws
        /// spool_error, also for a row whose payload is no longer a valid event.
        std::vector<stored_event> read_from(std::uint64_t first_seq, std::size_t limit);

    private:
        friend class event_spool;
        struct impl;
        explicit reader(std::unique_ptr<impl> impl);
        std::unique_ptr<impl> impl_;
    };

    /// Opens a reader; throws spool_error.
    std::unique_ptr<reader> make_reader() const;

private:
    struct connection;
    event_spool(const options& opts, std::unique_ptr<connection> db);

    static std::unique_ptr<event_spool> recover(const options& opts, open_report& report);

    void load_state(open_report& report);
    void reconcile_positions(open_report& report);
    void write_positions();

    std::filesystem::path path_;
    std::uint64_t max_bytes_;
    std::chrono::milliseconds dedup_window_;
    std::unique_ptr<connection> db_;
    std::atomic<std::uint64_t> stored_bytes_{0};
    std::atomic<std::uint64_t> last_seq_{0};
    std::atomic<std::uint64_t> transactions_{0};
    // NOTE: the map changes shape only when the config is reloaded (add_sink, remove_sink),
    // under the lock held exclusively; lookups share it, and the positions change atomically.
    mutable std::shared_mutex positions_mutex_;
    std::map<std::string, std::atomic<std::uint64_t>, std::less<>> positions_;
    std::vector<std::string> removed_positions_;  // to delete from the database
};

}  // namespace seshook
