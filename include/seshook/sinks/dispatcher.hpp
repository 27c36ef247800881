#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "seshook/event/record.hpp"
#include "seshook/sinks/sink.hpp"

namespace seshook {

/// Receives what a sink could not take (its queue was full, it failed, or shutdown came first),
/// so it is kept rather than lost. Called from any thread.
using undeliverable_handler =
    std::function<void(const record& r, std::string_view sink_name, std::string_view why)>;

/// Gives each sink its own bounded queue and worker thread, so a slow sink never slows the HTTP
/// answers nor the other sinks. dispatch() never blocks: when a sink's queue is full, the
/// record goes to the undeliverable handler (the rejects file) with a logged, counted error.
class dispatcher {
public:
    dispatcher(std::vector<std::unique_ptr<sink>> sinks, undeliverable_handler undeliverable);
    ~dispatcher();

    /// Sets the queue capacity of the named sink (default 10000); call before start().
    void set_queue_capacity(std::string_view sink_name, std::size_t capacity);

    /// Opens every sink and starts its worker; throws when a sink cannot open.
    void start();

    /// Queues each record for every sink whose filter takes it; never blocks.
    void dispatch(std::span<const record_ptr> records);

    /// Asks every sink to reopen its files (SIGHUP).
    void reopen();

    /// Stops taking records, lets the queues drain for at most `grace`, then stops the workers;
    /// what is still queued goes to the undeliverable handler. Returns true when all drained.
    bool stop(std::chrono::milliseconds grace);

    /// Returns how many records are waiting in all queues.
    std::size_t queued() const;

    /// Returns the sinks, for their names and counters.
    std::vector<const sink*> sinks() const;

private:
    struct worker;
    std::vector<std::unique_ptr<worker>> workers_;
    undeliverable_handler undeliverable_;
};

}  // namespace seshook
