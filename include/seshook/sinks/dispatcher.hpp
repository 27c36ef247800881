#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "seshook/event/record.hpp"
#include "seshook/sinks/sink.hpp"
#include "seshook/spool/event_spool.hpp"

namespace seshook {

/// Receives what a sink could not take (its queue was full, it failed, or shutdown came first),
/// so it is kept rather than lost. Called from any thread.
using undeliverable_handler =
    std::function<void(const record& r, std::string_view sink_name, std::string_view why)>;

/// Gives each sink its own bounded queue and worker thread, so a slow sink never slows the HTTP
/// answers nor the other sinks. dispatch() never blocks.
///
/// Two modes:
/// - in memory (the default): when a sink's queue is full, when it fails, or when shutdown
///   comes first, the record goes to the undeliverable handler (the rejects file), logged and
///   counted;
/// - at least once (use_spool()): the events are already in the spool, and the queue is only a
///   fast path. A sink whose queue overflows, or that fails, reads the events from the spool
///   from its position on; its position advances only once it has flushed what it took, and
///   what is left at shutdown stays in the spool for the next start.
class dispatcher {
public:
    dispatcher(std::vector<std::unique_ptr<sink>> sinks, undeliverable_handler undeliverable);
    ~dispatcher();

    /// Sets the queue capacity of the named sink (default 10000); call before start().
    void set_queue_capacity(std::string_view sink_name, std::size_t capacity);

    /// Makes every sink at least once through `spool`, which must outlive the dispatcher; with
    /// `sync`, a sink's output is on stable storage before its position advances. Call before
    /// start().
    void use_spool(event_spool& spool, bool sync);

    /// Opens every sink and starts its worker; throws when a sink cannot open.
    void start();

    /// Queues each record for every sink whose filter takes it; never blocks. In memory mode.
    void dispatch(std::span<const record_ptr> records);

    /// Queues events just committed to the spool, in seq order; never blocks. At least once.
    void dispatch(std::span<const stored_event> events);

    /// Adds a sink while running (a reloaded config): opens it, then gives it its worker; with a
    /// spool it first takes the events still there from its position on (see
    /// event_spool::add_sink(), which the caller calls first). Throws when the sink cannot open,
    /// and then nothing changed.
    void add(std::unique_ptr<sink> s, std::size_t capacity);

    /// Replaces the running sink of the same name with `s` (changed settings): opens `s`, lets
    /// the old sink finish the record it is busy with (for at most `grace`), then starts `s`.
    /// No record is lost: in memory mode the records queued for the old sink move to the new one
    /// (those its filter takes), and one the old sink could not finish goes to the
    /// undeliverable handler; with a spool the new sink goes on from the name's position. Throws
    /// when `s` cannot open or no sink has its name, and then nothing changed.
    void replace(std::unique_ptr<sink> s, std::size_t capacity, std::chrono::milliseconds grace);

    /// Removes the named sink while running: it takes no new record, and in memory mode it has
    /// `grace` to take what it has queued, the rest going to the undeliverable handler; with a
    /// spool it stops after the record it is busy with (the caller then calls
    /// event_spool::remove_sink()). Returns false when no sink has that name.
    bool remove(std::string_view sink_name, std::chrono::milliseconds grace);

    /// Asks every sink to reopen its files (SIGHUP).
    void reopen();

    /// Stops taking records, lets the queues drain for at most `grace`, then stops the workers;
    /// what is still queued goes to the undeliverable handler, or stays in the spool. Returns
    /// true when all drained.
    bool stop(std::chrono::milliseconds grace);

    /// Returns how many records are waiting in all queues (memory mode), or how many stored
    /// events the furthest-behind sink has still to take (at least once).
    std::size_t queued() const;

    /// Returns, for each sink in the order of sinks(), how many records wait in its queue
    /// (memory mode), or how many stored events it has still to take (at least once).
    std::vector<std::size_t> queue_depths() const;

    /// Returns the sinks, for their names and counters; the pointers stay valid as long as the
    /// dispatcher (a sink replaced or removed is closed, not destroyed, until then).
    std::vector<const sink*> sinks() const;

private:
    struct worker;
    void launch(worker& w);
    bool wind_down(const std::vector<worker*>& workers, std::chrono::milliseconds grace, bool drain,
                   std::string_view why);
    std::unique_ptr<worker> open_worker(std::unique_ptr<sink> s, std::size_t capacity);
    void retire(std::unique_ptr<worker> w);

    // NOTE: dispatch() and the other readers share the lock; only add(), replace() and
    // remove() take it alone, to change the list. A worker's own state has its own mutex.
    mutable std::shared_mutex workers_mutex_;
    std::vector<std::unique_ptr<worker>> workers_;
    std::vector<std::unique_ptr<worker>> retired_;  // replaced or removed, stopped and closed
    undeliverable_handler undeliverable_;
    event_spool* spool_ = nullptr;
    bool sync_ = false;
};

}  // namespace seshook
