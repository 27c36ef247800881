#include "seshook/sinks/dispatcher.hpp"

#include <fmt/format.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
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

    std::unique_ptr<sink> target;
    std::size_t capacity = default_queue_capacity;
    error_reporter overflow_errors;  // counts the records refused because the queue was full
    bool opened = false;             // touched only by the thread that starts and stops

    std::mutex mutex;
    std::condition_variable_any wake;      // tells the worker there is something to do
    std::condition_variable_any finished;  // tells stop() the worker drained its queue
    std::deque<record_ptr> queue;
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
        if (target->consume(*next, stop) == delivery_outcome::failed) {
            hand_over(undeliverable, *next, target->name(), "sink_failed");
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
    for (auto& w : workers_) {
        if (w->target->name() == sink_name) {
            w->capacity = capacity;
            return;
        }
    }
    throw std::invalid_argument(fmt::format("dispatcher: no sink is named '{}'", sink_name));
}

void dispatcher::start() {
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

    // Then give each its worker.
    for (auto& w : workers_) {
        worker* self = w.get();
        w->thread = std::jthread(
            [self, this](std::stop_token stop) { self->run(std::move(stop), undeliverable_); });
    }
}

void dispatcher::dispatch(std::span<const record_ptr> records) {
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

void dispatcher::reopen() {
    for (auto& w : workers_) {
        {
            const std::lock_guard lock(w->mutex);
            w->reopen_requested = true;
        }
        w->wake.notify_one();
    }
}

bool dispatcher::stop(std::chrono::milliseconds grace) {
    const auto deadline = std::chrono::steady_clock::now() + grace;

    // Stop taking records, and let each worker end once its queue is empty.
    for (auto& w : workers_) {
        {
            const std::lock_guard lock(w->mutex);
            w->accepting = false;
            w->draining = true;
        }
        w->wake.notify_one();
    }

    // Wait for the queues to drain, at most until the deadline.
    for (auto& w : workers_) {
        if (!w->thread.joinable()) continue;
        std::unique_lock lock(w->mutex);
        w->finished.wait_until(lock, deadline, [&] { return w->done; });
    }

    // Past it, stop the workers: a sink that waits (retries, backoff) gives up on its token.
    // NOTE: joining still waits for the record a sink is busy with; every sink must therefore
    // bound each blocking step (timeouts) and watch its stop token while it waits.
    for (auto& w : workers_) w->thread.request_stop();
    for (auto& w : workers_) {
        if (w->thread.joinable()) w->thread.join();
    }

    // Hand what is still queued to the undeliverable handler, then close the sinks.
    bool drained = true;
    for (auto& w : workers_) {
        std::deque<record_ptr> left;
        {
            const std::lock_guard lock(w->mutex);
            left.swap(w->queue);
        }
        drained = drained && left.empty();
        for (const auto& r : left) hand_over(undeliverable_, *r, w->target->name(), "shutdown");
        if (w->opened) {
            w->target->close();
            w->opened = false;
        }
    }
    return drained;
}

std::size_t dispatcher::queued() const {
    std::size_t total = 0;
    for (const auto& w : workers_) {
        const std::lock_guard lock(w->mutex);
        total += w->queue.size();
    }
    return total;
}

std::vector<const sink*> dispatcher::sinks() const {
    std::vector<const sink*> result;
    result.reserve(workers_.size());
    for (const auto& w : workers_) result.push_back(w->target.get());
    return result;
}

}  // namespace seshook
