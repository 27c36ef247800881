#include "seshook/sinks/dispatcher.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace seshook {
namespace {

constexpr std::size_t default_queue_capacity = 10000;

// Gives a record to the undeliverable handler; never throws, since it runs on I/O threads.
void hand_over(const undeliverable_handler& handler, const record& r, std::string_view sink_name,
               std::string_view why) noexcept {
    static error_reporter errors("dispatcher");
    try {
        if (!handler) {
            errors.report(fmt::format("record {} for sink '{}' lost ({}): no handler", r.event.id,
                                      sink_name, why));
            return;
        }
        handler(r, sink_name, why);
    } catch (const std::exception& e) {
        errors.report(fmt::format("record {} for sink '{}' lost ({}): {}", r.event.id, sink_name,
                                  why, e.what()));
    } catch (...) {
        errors.report(fmt::format("record {} for sink '{}' lost ({})", r.event.id, sink_name, why));
    }
}

}  // namespace

/// One sink with its queue and the thread that feeds it.
struct dispatcher::worker {
    explicit worker(std::unique_ptr<sink> s)
        : target(std::move(s)), overflow_errors("sink:" + target->name()) {}

    void run(std::stop_token stop, const undeliverable_handler& undeliverable);
    void run_spooled(std::stop_token stop);

    std::unique_ptr<sink> target;
    std::size_t capacity = default_queue_capacity;
    error_reporter overflow_errors;  // counts the records refused because the queue was full
    bool opened = false;             // touched only by the thread that starts and stops

    // At least once only: the spool, and a reading connection of this worker's own.
    event_spool* spool = nullptr;
    bool sync = false;
    std::unique_ptr<event_spool::reader> reader;

    std::mutex mutex;
    std::condition_variable_any wake;      // tells the worker there is something to do
    std::condition_variable_any finished;  // tells stop() the worker drained its queue
    std::deque<record_ptr> queue;          // memory mode
    std::deque<stored_event> stored;       // at least once
    bool behind = false;  // at least once: the queue missed events, read them from the spool
    bool accepting = true;
    bool draining = false;
    bool reopen_requested = false;
    bool done = false;

    // NOTE: declared last, so that it is joined before the members it uses are destroyed.
    std::jthread thread;
};

void dispatcher::worker::run(std::stop_token stop, const undeliverable_handler& undeliverable) {
    bool unflushed = false;
    std::unique_lock lock(mutex);
    for (;;) {
        // Flush once the queue runs empty, so that a quiet sink holds nothing back.
        if (unflushed && queue.empty() && !reopen_requested) {
            lock.unlock();
            target->flush();
            unflushed = false;
            lock.lock();
            continue;
        }

        // Wait for a record, a reopen request or the end.
        wake.wait(lock, stop, [&] { return !queue.empty() || reopen_requested || draining; });
        if (stop.stop_requested()) break;

        // Reopen between two records, on this thread, as every call of the sink is.
        if (std::exchange(reopen_requested, false)) {
            lock.unlock();
            target->reopen();
            lock.lock();
            continue;
        }
        if (queue.empty()) break;  // draining and nothing left

        // Hand the next record to the sink; what it could not take is kept elsewhere.
        record_ptr next = std::move(queue.front());
        queue.pop_front();
        lock.unlock();
        const auto outcome = target->consume(*next, stop);
        if (outcome == delivery_outcome::failed) {
            hand_over(undeliverable, *next, target->name(), "sink_failed");
        } else if (outcome == delivery_outcome::interrupted) {
            hand_over(undeliverable, *next, target->name(), "shutdown");
        }
        unflushed = true;
        lock.lock();
    }

    // NOTE: a worker stopped early may leave records queued; stop() hands them over.
    done = true;
    lock.unlock();
    if (unflushed) target->flush();
    finished.notify_all();
}

namespace {

// At least once: a sink's position advances after this many events or this much time at the
// latest, even while its queue never runs empty, so that the spool can be compacted.
constexpr std::size_t settle_every_events = 1000;
constexpr auto settle_every = std::chrono::milliseconds(200);

// Events read from the spool at once when a sink catches up.
constexpr std::size_t catch_up_batch = 512;

// A sink that fails is retried after a pause that doubles up to the longest.
constexpr auto first_retry_pause = std::chrono::milliseconds(100);
constexpr auto longest_retry_pause = std::chrono::seconds(30);

// What one worker has taken of the spool, on the worker's own thread.
struct spool_progress {
    sink& target;
    event_spool& spool;
    bool sync;
    std::uint64_t handled = 0;       // every event up to this seq is taken or filtered out
    std::uint64_t acknowledged = 0;  // the position told to the spool
    std::size_t unflushed = 0;       // events taken since the last flush
    std::chrono::steady_clock::time_point last_settled = std::chrono::steady_clock::now();

    // Hands one event to the sink unless it had it already or does not want it; false when the
    // sink did not take it (failed, or shutdown came first).
    bool take(const stored_event& e, const std::stop_token& stop) {
        if (e.seq <= handled) return true;
        if (!target.wants(*e.rec)) {
            handled = e.seq;
            return true;
        }
        const auto outcome = target.consume(*e.rec, stop);
        if (outcome == delivery_outcome::failed || outcome == delivery_outcome::interrupted) {
            return false;
        }
        handled = e.seq;
        ++unflushed;
        return true;
    }

    // Flushes what was taken and moves the position up to it; false when the flush failed, and
    // then the events since the last position are to be taken again, since the sink may not
    // have kept them (a failed fsync can drop what was written).
    bool settle() {
        last_settled = std::chrono::steady_clock::now();
        if (handled == acknowledged) return true;
        if (unflushed > 0 && !target.flush(sync)) {
            handled = acknowledged;
            unflushed = 0;
            return false;
        }
        unflushed = 0;
        spool.acknowledge(target.name(), handled);
        acknowledged = handled;
        return true;
    }

    bool due() const {
        return unflushed >= settle_every_events ||
               std::chrono::steady_clock::now() - last_settled >= settle_every;
    }
};

}  // namespace

void dispatcher::worker::run_spooled(std::stop_token stop) {
    spool_progress progress{*target, *spool, sync};
    progress.handled = progress.acknowledged = spool->position(target->name());
    error_reporter spool_errors("sink:" + target->name());
    auto pause = first_retry_pause;

    // Reads the events the queue missed from the spool; false when the sink or the spool failed.
    const auto catch_up = [&] {
        for (;;) {
            std::vector<stored_event> batch;
            try {
                batch = reader->read_from(progress.handled + 1, catch_up_batch);
            } catch (const std::exception& e) {
                spool_errors.report(e.what());
                return false;
            }
            if (batch.empty()) return true;
            for (const auto& e : batch) {
                if (stop.stop_requested()) return true;
                if (!progress.take(e, stop)) return false;
                if (progress.due() && !progress.settle()) return false;
            }
        }
    };

    std::unique_lock lock(mutex);
    const auto failed = [&] {
        // Keep what was taken, then wait and read the rest from the spool again.
        lock.unlock();
        progress.settle();
        lock.lock();
        behind = true;
        wake.wait_for(lock, stop, pause, [] { return false; });
        pause = std::min(
            pause * 2, std::chrono::duration_cast<std::chrono::milliseconds>(longest_retry_pause));
    };
    for (;;) {
        if (stop.stop_requested()) break;

        // Read from the spool what the queue does not hold: at start, after an overflow, after a
        // failure. Events committed meanwhile are queued, and those read twice are skipped.
        if (behind) {
            behind = false;
            stored.clear();
            lock.unlock();
            const bool ok = catch_up();
            lock.lock();
            if (!ok) failed();
            continue;
        }

        // Reopen between two events, on this thread, as every call of the sink is.
        if (std::exchange(reopen_requested, false)) {
            lock.unlock();
            target->reopen();
            lock.lock();
            continue;
        }

        // Take the next queued event.
        if (!stored.empty()) {
            stored_event next = std::move(stored.front());
            stored.pop_front();
            lock.unlock();
            const bool ok = progress.take(next, stop) && (!progress.due() || progress.settle());
            lock.lock();
            if (!ok) {
                failed();
            } else {
                pause = first_retry_pause;
            }
            continue;
        }

        // The queue ran empty: make what was taken safe before waiting.
        if (progress.handled != progress.acknowledged) {
            lock.unlock();
            const bool ok = progress.settle();
            lock.lock();
            if (!ok) failed();
            continue;
        }
        if (draining) break;
        wake.wait(lock, stop,
                  [&] { return !stored.empty() || reopen_requested || draining || behind; });
    }

    // NOTE: what was not taken stays in the spool, where the next start finds it.
    done = true;
    lock.unlock();
    progress.settle();
    finished.notify_all();
}

dispatcher::dispatcher(std::vector<std::unique_ptr<sink>> sinks,
                       undeliverable_handler undeliverable)
    : undeliverable_(std::move(undeliverable)) {
    workers_.reserve(sinks.size());
    for (auto& s : sinks) {
        if (!s) throw std::invalid_argument("dispatcher: a sink is missing");
        workers_.push_back(std::make_unique<worker>(std::move(s)));
    }
}

dispatcher::~dispatcher() {
    // NOTE: an explicit stop() leaves every worker done; this covers an early exit.
    bool running = false;
    for (const auto& w : workers_) running = running || w->thread.joinable() || w->opened;
    if (running) stop(std::chrono::seconds(1));
}

void dispatcher::set_queue_capacity(std::string_view sink_name, std::size_t capacity) {
    if (capacity == 0) throw std::invalid_argument("dispatcher: a queue capacity must be positive");
    const std::shared_lock list_lock(workers_mutex_);
    for (auto& w : workers_) {
        if (w->target->name() == sink_name) {
            w->capacity = capacity;
            return;
        }
    }
    throw std::invalid_argument(fmt::format("dispatcher: no sink is named '{}'", sink_name));
}

void dispatcher::use_spool(event_spool& spool, bool sync) {
    spool_ = &spool;
    sync_ = sync;
    for (auto& w : workers_) {
        w->spool = &spool;
        w->sync = sync;
    }
}

void dispatcher::start() {
    const std::shared_lock list_lock(workers_mutex_);

    // Open every sink first, so that a sink that cannot open stops the start cleanly.
    for (auto& w : workers_) {
        try {
            w->target->open();
            w->opened = true;
        } catch (...) {
            for (auto& opened : workers_) {
                if (!opened->opened) continue;
                opened->target->close();
                opened->opened = false;
            }
            throw;
        }
    }

    // Then give each its worker; with a spool, each sink first takes what it had not taken
    // before the last stop.
    for (auto& w : workers_) {
        if (spool_ != nullptr) w->behind = spool_->position(w->target->name()) < spool_->last_seq();
        launch(*w);
    }
}

void dispatcher::launch(worker& w) {
    worker* self = &w;
    if (spool_ != nullptr) {
        self->reader = spool_->make_reader();
        w.thread = std::jthread([self](std::stop_token stop) { self->run_spooled(stop); });
        return;
    }
    w.thread = std::jthread(
        [self, this](std::stop_token stop) { self->run(std::move(stop), undeliverable_); });
}

std::unique_ptr<dispatcher::worker> dispatcher::open_worker(std::unique_ptr<sink> s,
                                                            std::size_t capacity) {
    if (!s) throw std::invalid_argument("dispatcher: a sink is missing");
    if (capacity == 0) throw std::invalid_argument("dispatcher: a queue capacity must be positive");
    auto w = std::make_unique<worker>(std::move(s));
    w->capacity = capacity;
    w->spool = spool_;
    w->sync = sync_;
    // NOTE: with a spool, a sink added while running always reads the spool first: an event
    // committed before it joined the list was dispatched without it.
    w->behind = spool_ != nullptr;
    w->target->open();
    w->opened = true;
    return w;
}

void dispatcher::add(std::unique_ptr<sink> s, std::size_t capacity) {
    auto fresh = open_worker(std::move(s), capacity);
    worker* added = fresh.get();
    {
        const std::unique_lock list_lock(workers_mutex_);
        for (const auto& w : workers_) {
            if (w->target->name() != added->target->name()) continue;
            added->target->close();
            throw std::invalid_argument(
                fmt::format("dispatcher: a sink is already named '{}'", added->target->name()));
        }
        workers_.push_back(std::move(fresh));
    }
    launch(*added);
}

void dispatcher::replace(std::unique_ptr<sink> s, std::size_t capacity,
                         std::chrono::milliseconds grace) {
    auto fresh = open_worker(std::move(s), capacity);
    worker* added = fresh.get();

    // Put the new worker in the old one's place, so that records dispatched from now on queue
    // for it; in memory mode it takes over what the old one had queued.
    std::unique_ptr<worker> old;
    {
        const std::unique_lock list_lock(workers_mutex_);
        const auto slot = std::find_if(workers_.begin(), workers_.end(), [&](const auto& w) {
            return w->target->name() == added->target->name();
        });
        if (slot == workers_.end()) {
            added->target->close();
            throw std::invalid_argument(
                fmt::format("dispatcher: no sink is named '{}'", added->target->name()));
        }
        old = std::move(*slot);
        {
            const std::lock_guard lock(old->mutex);
            old->accepting = false;
            for (auto& r : old->queue) {
                if (added->target->wants(*r)) added->queue.push_back(std::move(r));
            }
            old->queue.clear();
        }
        *slot = std::move(fresh);
    }

    // Let the old sink finish, then start the new one, so that the two never write at once;
    // with a spool the new one goes on from the position the old one reached.
    wind_down({old.get()}, grace, false, "sink_replaced");
    launch(*added);
    retire(std::move(old));
}

void dispatcher::retire(std::unique_ptr<worker> w) {
    // NOTE: kept, closed, rather than destroyed, so that the pointers sinks() gave out (to the
    // metrics, the service status) stay valid for as long as the dispatcher lives.
    const std::unique_lock list_lock(workers_mutex_);
    retired_.push_back(std::move(w));
}

bool dispatcher::remove(std::string_view sink_name, std::chrono::milliseconds grace) {
    std::unique_ptr<worker> gone;
    {
        const std::unique_lock list_lock(workers_mutex_);
        const auto slot = std::find_if(workers_.begin(), workers_.end(), [&](const auto& w) {
            return w->target->name() == sink_name;
        });
        if (slot == workers_.end()) return false;
        gone = std::move(*slot);
        workers_.erase(slot);
    }

    // NOTE: with a spool, what the sink had still to take is left there: draining it could take
    // long, and no one waits for it any more.
    wind_down({gone.get()}, grace, spool_ == nullptr, "sink_removed");
    retire(std::move(gone));
    return true;
}

void dispatcher::dispatch(std::span<const record_ptr> records) {
    const std::shared_lock list_lock(workers_mutex_);
    for (const auto& r : records) {
        if (!r) continue;
        for (auto& w : workers_) {
            if (!w->target->wants(*r)) continue;

            // Queue the record unless the sink is closing or its queue is full.
            std::string_view why;
            std::size_t depth = 0;
            {
                const std::lock_guard lock(w->mutex);
                if (!w->accepting) {
                    why = "shutdown";
                } else if (w->queue.size() >= w->capacity) {
                    why = "queue_full";
                    depth = w->queue.size();
                } else {
                    w->queue.push_back(r);
                }
            }
            if (why.empty()) {
                w->wake.notify_one();
                continue;
            }

            // What was refused is kept by the handler, never dropped in silence.
            if (why == "queue_full") {
                w->overflow_errors.report(
                    fmt::format("queue full ({} records), record {} handed over as undeliverable",
                                depth, r->event.id));
            }
            hand_over(undeliverable_, *r, w->target->name(), why);
        }
    }
}

void dispatcher::dispatch(std::span<const stored_event> events) {
    if (events.empty()) return;
    const std::shared_lock list_lock(workers_mutex_);
    for (auto& w : workers_) {
        // Queue the events unless the worker reads from the spool anyway; a full queue only
        // sends the worker there, since the events are safe in the spool.
        bool overflowed = false;
        {
            const std::lock_guard lock(w->mutex);
            if (!w->accepting || w->behind) continue;
            if (w->stored.size() + events.size() > w->capacity) {
                w->behind = true;
                overflowed = true;
            } else {
                w->stored.insert(w->stored.end(), events.begin(), events.end());
            }
        }
        w->wake.notify_one();
        if (overflowed) {
            w->overflow_errors.report(fmt::format(
                "queue full ({} events), the sink reads from the spool until it catches up",
                w->capacity));
        }
    }
}

void dispatcher::reopen() {
    const std::shared_lock list_lock(workers_mutex_);
    for (auto& w : workers_) {
        {
            const std::lock_guard lock(w->mutex);
            w->reopen_requested = true;
        }
        w->wake.notify_one();
    }
}

bool dispatcher::stop(std::chrono::milliseconds grace) {
    std::vector<worker*> all;
    {
        const std::shared_lock list_lock(workers_mutex_);
        for (const auto& w : workers_) all.push_back(w.get());
    }
    return wind_down(all, grace, true, "shutdown");
}

bool dispatcher::wind_down(const std::vector<worker*>& workers, std::chrono::milliseconds grace,
                           bool drain, std::string_view why) {
    const auto deadline = std::chrono::steady_clock::now() + grace;

    // Stop taking records, and let each worker end once its queue is empty; one that is not to
    // drain ends after the event it is busy with, leaving the rest in the spool.
    for (worker* w : workers) {
        {
            const std::lock_guard lock(w->mutex);
            w->accepting = false;
            w->draining = true;
            if (!drain) {
                w->stored.clear();
                w->behind = false;
            }
        }
        w->wake.notify_one();
    }

    // Wait for the queues to drain, at most until the deadline.
    for (worker* w : workers) {
        if (!w->thread.joinable()) continue;
        std::unique_lock lock(w->mutex);
        w->finished.wait_until(lock, deadline, [&] { return w->done; });
    }

    // Past it, stop the workers: a sink that waits (retries, backoff) gives up on its token.
    // NOTE: joining still waits for the record a sink is busy with; every sink must therefore
    // bound each blocking step (timeouts) and watch its stop token while it waits.
    for (worker* w : workers) w->thread.request_stop();
    for (worker* w : workers) {
        if (w->thread.joinable()) w->thread.join();
        w->reader.reset();
    }

    // Hand what is still queued to the undeliverable handler (with a spool, it stays there),
    // then close the sinks.
    bool drained = true;
    for (worker* w : workers) {
        std::deque<record_ptr> left;
        {
            const std::lock_guard lock(w->mutex);
            left.swap(w->queue);
            w->stored.clear();
        }
        if (spool_ != nullptr) {
            drained = drained && spool_->position(w->target->name()) >= spool_->last_seq();
        }
        drained = drained && left.empty();
        for (const auto& r : left) hand_over(undeliverable_, *r, w->target->name(), why);
        if (w->opened) {
            w->target->close();
            w->opened = false;
        }
    }
    return drained;
}

std::size_t dispatcher::queued() const {
    const std::shared_lock list_lock(workers_mutex_);
    if (spool_ != nullptr) {
        std::uint64_t behind = 0;
        for (const auto& w : workers_) {
            behind = std::max(behind, spool_->last_seq() - spool_->position(w->target->name()));
        }
        return static_cast<std::size_t>(behind);
    }
    std::size_t total = 0;
    for (const auto& w : workers_) {
        const std::lock_guard lock(w->mutex);
        total += w->queue.size();
    }
    return total;
}

std::vector<std::size_t> dispatcher::queue_depths() const {
    const std::shared_lock list_lock(workers_mutex_);
    std::vector<std::size_t> depths;
    depths.reserve(workers_.size());
    for (const auto& w : workers_) {
        if (spool_ != nullptr) {
            const std::uint64_t last = spool_->last_seq();
            const std::uint64_t position = spool_->position(w->target->name());
            depths.push_back(static_cast<std::size_t>(last > position ? last - position : 0));
            continue;
        }
        const std::lock_guard lock(w->mutex);
        depths.push_back(w->queue.size());
    }
    return depths;
}

std::vector<const sink*> dispatcher::sinks() const {
    const std::shared_lock list_lock(workers_mutex_);
    std::vector<const sink*> result;
    result.reserve(workers_.size());
    for (const auto& w : workers_) result.push_back(w->target.get());
    return result;
}

}  // namespace seshook
