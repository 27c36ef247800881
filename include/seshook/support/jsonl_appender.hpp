#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

#include "seshook/support/error_reporter.hpp"
#include "seshook/support/rotating_file.hpp"

namespace seshook {

/// Appends JSON Lines to a file from a background thread, so that callers on I/O threads never
/// block on the disk. Used for the rejects file and the dead-letter files.
///
/// NOTE: lines wait in memory up to `max_pending_bytes`; past that, append() blocks its caller
/// until the disk catches up. Blocking is chosen over dropping because these files are where
/// seshook keeps what it could not deliver: losing a line there loses an event.
class jsonl_appender {
public:
    /// Creates an appender for `path`; nothing is opened until start().
    jsonl_appender(std::filesystem::path path, std::string component,
                   std::size_t max_pending_bytes = 64 * 1024 * 1024);
    ~jsonl_appender();

    /// Opens the file (creating parent folders) and starts the writer thread; throws on failure.
    void start();

    /// Queues one line (without its newline) for appending.
    void append(std::string line);

    /// Makes the writer reopen the file by name (after logrotate moved it).
    void reopen();

    /// Waits until every line appended so far is written, and with `sync` on stable storage;
    /// returns false when that did not happen within `timeout` (the disk keeps failing).
    bool drain(bool sync, std::chrono::milliseconds timeout = std::chrono::seconds(10));

    /// Writes everything queued, flushes, and stops the writer thread.
    void stop();

    /// Returns the number of lines written so far.
    std::size_t written() const;

    const std::filesystem::path& path() const noexcept { return path_; }

private:
    void run();

    std::filesystem::path path_;
    std::size_t max_pending_bytes_;
    error_reporter errors_;
    rotating_file file_;
    mutable std::mutex mutex_;
    std::condition_variable wake_writer_;
    std::condition_variable wake_producers_;
    std::deque<std::string> pending_;
    std::size_t pending_bytes_ = 0;
    std::size_t written_ = 0;
    bool reopen_requested_ = false;
    bool stopping_ = false;
    std::thread writer_;
};

}  // namespace seshook
