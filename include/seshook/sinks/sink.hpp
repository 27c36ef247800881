#pragma once

#include <atomic>
#include <cstdint>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "seshook/event/record.hpp"
#include "seshook/support/error_reporter.hpp"

namespace seshook {

/// What happened to one record handed to a sink.
enum class delivery_outcome {
    delivered,      // the sink has it (written, sent, logged)
    dead_lettered,  // the sink gave up and kept it in its own dead-letter file
    failed,         // the sink could not take it; the caller keeps it elsewhere
    interrupted,    // shutdown came before the sink had it; the caller keeps it for later
};

/// Counters of one sink, readable from any thread.
struct sink_counters {
    std::atomic<std::uint64_t> delivered{0};
    std::atomic<std::uint64_t> dead_lettered{0};
    std::atomic<std::uint64_t> failed{0};
    std::atomic<std::uint64_t> retried{0};  // attempts made again after a failed one
};

/// A destination for accepted events. Concrete sinks implement the protected do_* hooks; the
/// public methods add the event filter, error isolation and counting, so that one failing sink
/// never stops the others. Every method of a sink is called from its own worker thread only
/// (see dispatcher), so hooks may block on disk or network.
class sink {
public:
    /// Creates a sink called `name` that takes the events named in `events` (all when empty).
    sink(std::string type, std::string name, std::vector<std::string> events);
    virtual ~sink() = default;
    sink(const sink&) = delete;
    sink& operator=(const sink&) = delete;

    const std::string& type() const noexcept { return type_; }
    const std::string& name() const noexcept { return name_; }

    /// Returns true when the sink's event filter takes the record.
    bool wants(const record& r) const;

    /// Opens what the sink needs (files, connections); throws std::exception on failure.
    void open();

    /// Hands one record to the sink; never throws. `stop` is requested when the daemon's
    /// shutdown grace period is over: a sink that waits (retries, backoff) must give up then.
    delivery_outcome consume(const record& r, std::stop_token stop);

    /// Flushes buffered output, with `sync` also to stable storage; returns false when that
    /// failed (the failure is reported). Never throws.
    bool flush(bool sync = false) noexcept;

    /// Reopens files by name (SIGHUP, after logrotate); never throws.
    void reopen() noexcept;

    /// Flushes and releases everything; never throws.
    void close() noexcept;

    const sink_counters& counters() const noexcept { return counters_; }

protected:
    virtual void do_open() {}
    /// Takes one record. Throwing means `failed`; the message is logged (rate-limited).
    virtual delivery_outcome do_consume(const record& r, std::stop_token stop) = 0;
    /// Makes what was consumed so far safe: handed to the kernel, and with `sync` on stable
    /// storage. Throwing means it is not.
    virtual void do_flush(bool /*sync*/) {}
    virtual void do_reopen() {}
    virtual void do_close() {}

    /// Counts one attempt that is about to be made again after a failed one.
    void count_retry() noexcept { counters_.retried.fetch_add(1, std::memory_order_relaxed); }

    /// Reports a failure of this sink through its rate-limited error reporter.
    void report_error(std::string_view what) { errors_.report(what); }

private:
    std::string type_;
    std::string name_;
    std::set<std::string, std::less<>> events_;
    sink_counters counters_;
    error_reporter errors_;
};

}  // namespace seshook
