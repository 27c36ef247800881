#pragma once

#include <chrono>
#include <memory>

#include "seshook/event/recent_ids.hpp"
#include "seshook/http/event_intake.hpp"
#include "seshook/metrics/endpoint_metrics.hpp"
#include "seshook/sinks/dispatcher.hpp"
#include "seshook/spool/spool_writer.hpp"

namespace seshook {

/// The intake of `durability = "memory"`: drops repeats seen within the dedup window, queues
/// the rest straight to the sinks and answers at once. Nothing survives a crash.
class memory_intake final : public event_intake {
public:
    /// `recent` is null when dedup is off; `metrics`, when given, counts the events accepted.
    memory_intake(dispatcher& sinks, recent_ids* recent, endpoint_metrics* metrics = nullptr)
        : sinks_(sinks), recent_(recent), metrics_(metrics) {}

    void take(std::vector<record_ptr> records, done_fn done) override;

private:
    dispatcher& sinks_;
    recent_ids* recent_;
    endpoint_metrics* metrics_;
};

/// The intake of the spool modes: hands the events to the spool writer, whose group commit
/// stores them (dropping repeats) and dispatches them; the answer waits for the commit.
class spool_intake final : public event_intake {
public:
    explicit spool_intake(spool_writer& writer) : writer_(writer) {}

    void take(std::vector<record_ptr> records, done_fn done) override;

private:
    spool_writer& writer_;
};

}  // namespace seshook
