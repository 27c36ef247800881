#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <string_view>

#include "seshook/config/config.hpp"

namespace seshook {

/// A replay that cannot begin: an unknown sink, an input or a sink that cannot be opened.
/// The message has the form "replay: what is wrong".
class replay_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// What a replay did. Lines are counted in `lines_read` and `invalid_lines`; the records built
/// from the valid lines (a rejected batch gives several) in the other counters.
struct replay_summary {
    std::uint64_t lines_read = 0;     // lines that were not blank
    std::uint64_t replayed = 0;       // records the sink delivered
    std::uint64_t dead_lettered = 0;  // records the sink kept in its dead-letter file
    std::uint64_t failed = 0;         // records the sink could not take
    std::uint64_t skipped = 0;        // records the sink's event filter does not take
    std::uint64_t invalid_lines = 0;  // lines that gave no record (reported on the error stream)

    /// Returns the process exit code: 0 when every record was replayed or skipped by the
    /// filter, 1 when a line was invalid or a record was dead-lettered or failed.
    int exit_code() const noexcept;
};

/// Writes the summary as one line, e.g. "seshook replay: read 3, replayed 2, dead-lettered 0,
/// failed 0, skipped by filter 1, invalid 0".
std::ostream& operator<<(std::ostream& out, const replay_summary& summary);

/// Hands the events stored in the JSON Lines file `input` to the sink of `cfg` named
/// `sink_name`, in order, and returns what happened. Each line is one of:
///  - a record, as the file sink writes it: {"id","receivedAt","peer","payload":{...}};
///  - a rejects line: {"time","peer","reason","detail","body"|"bodyBase64"}, whose body is
///    validated again under cfg.schema; each event of it becomes a record received now;
///  - a dead-letter line of a forward sink: {...,"record":{a record}}.
/// Records and dead letters keep their receivedAt and peer; their payload's exact bytes are
/// validated again leniently, since they were accepted once. An invalid line is reported on
/// `err` with its number and the reason, and counted; it does not stop the replay. So is a
/// record the sink dead-letters or fails. The summary ends on `out`. Nothing is deduplicated:
/// an event replayed twice reaches the sink twice.
/// Throws replay_error when the sink is unknown (the message lists the configured ones) or
/// when the input or the sink cannot be opened, before anything is replayed.
replay_summary replay_events(const config& cfg, std::string_view sink_name,
                             const std::filesystem::path& input, std::ostream& out,
                             std::ostream& err);

}  // namespace seshook
