#include "seshook/support/jsonl_appender.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

namespace seshook {
namespace {

// Writes the lines at the front of `lines` until one fails; returns how many were written.
std::size_t write_lines(rotating_file& file, const std::deque<std::string>& lines,
                        error_reporter& errors) {
    std::size_t done = 0;
    try {
        for (const auto& line : lines) {
            file.append_line(line);
            ++done;
        }
    } catch (const std::exception& e) {
        errors.report(e.what());
    }
    return done;
}

// Logs a line that could not reach the file, as the last place where it can still be found.
void log_lost_line(const std::filesystem::path& path, std::string_view line) {
    spdlog::error("[jsonl] line lost, could not write it to {}: {}", path.string(), line);
}

}  // namespace

jsonl_appender::jsonl_appender(std::filesystem::path path, std::string component,
                               std::size_t max_pending_bytes)
    : path_(std::move(path)),
      max_pending_bytes_(max_pending_bytes),
      errors_(std::move(component)),
      file_(rotating_file::options{path_, 0, 0}) {
    // NOTE: `stopping_` is true whenever no writer thread runs (before start() and after
    // stop()); append() then writes on the caller's thread, so that no line is ever stranded.
    stopping_ = true;
}

jsonl_appender::~jsonl_appender() { stop(); }

void jsonl_appender::start() {
    const std::lock_guard lock(mutex_);
    if (writer_.joinable()) return;
    file_.open();
    stopping_ = false;
    writer_ = std::thread([this] { run(); });
}

void jsonl_appender::append(std::string line) {
    // NOTE: each line counts its newline, so pending_bytes_ is zero exactly when nothing is
    // queued nor being written by the writer thread.
    const std::size_t bytes = line.size() + 1;
    std::unique_lock lock(mutex_);

    // Wait while the backlog is over its limit (a single line larger than it still passes); once
    // stopping, wait until the writer is done with the file before touching it here.
    wake_producers_.wait(lock, [&] {
        if (stopping_) return pending_bytes_ == 0;
        return pending_bytes_ == 0 || pending_bytes_ + bytes <= max_pending_bytes_;
    });

    if (stopping_) {
        if (write_lines(file_, std::deque<std::string>{line}, errors_) == 1) {
            ++written_;
        } else {
            log_lost_line(path_, line);
        }
        return;
    }
    pending_bytes_ += bytes;
    pending_.push_back(std::move(line));
    lock.unlock();
    wake_writer_.notify_one();
}

void jsonl_appender::reopen() {
    std::unique_lock lock(mutex_);

    // With no writer busy with the file, reopen it here; otherwise the writer does it.
    if (stopping_ && pending_bytes_ == 0) {
        try {
            file_.reopen();
        } catch (const std::exception& e) {
            errors_.report(e.what());
        }
        return;
    }
    reopen_requested_ = true;
    lock.unlock();
    wake_writer_.notify_one();
}

void jsonl_appender::stop() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_writer_.notify_one();
    wake_producers_.notify_all();
    if (writer_.joinable()) writer_.join();
}

bool jsonl_appender::drain(bool sync, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);

    // NOTE: pending_bytes_ is zero only once the writer thread has written everything and is
    // no longer touching the file, so syncing here under the lock races with no write.
    if (!wake_producers_.wait_for(lock, timeout, [&] { return pending_bytes_ == 0; })) {
        return false;
    }
    if (!sync) return true;
    try {
        file_.flush(true);
        return true;
    } catch (const std::exception& e) {
        errors_.report(e.what());
        return false;
    }
}

std::size_t jsonl_appender::written() const {
    const std::lock_guard lock(mutex_);
    return written_;
}

void jsonl_appender::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_writer_.wait(lock,
                          [&] { return !pending_.empty() || reopen_requested_ || stopping_; });

        // Reopening is quick and done under the lock, so that no line is written in between.
        if (std::exchange(reopen_requested_, false)) {
            try {
                file_.reopen();
            } catch (const std::exception& e) {
                errors_.report(e.what());
            }
        }
        if (pending_.empty()) {
            if (stopping_) break;
            continue;
        }

        // Take the whole backlog and write it without holding the lock.
        std::deque<std::string> batch;
        batch.swap(pending_);
        const bool last_chance = stopping_;
        lock.unlock();
        const std::size_t done = write_lines(file_, batch, errors_);
        std::size_t released = 0;
        for (std::size_t i = 0; i < done; ++i) released += batch[i].size() + 1;

        // On the way out, what failed is logged, since nothing will write it any more.
        if (done < batch.size() && last_chance) {
            for (std::size_t i = done; i < batch.size(); ++i) {
                log_lost_line(path_, batch[i]);
                released += batch[i].size() + 1;
            }
            batch.clear();
        }

        lock.lock();
        written_ += done;
        pending_bytes_ -= released;
        wake_producers_.notify_all();

        // Otherwise what failed goes back to the front, to be retried after a pause.
        if (done < batch.size()) {
            pending_.insert(pending_.begin(), std::make_move_iterator(batch.begin() + done),
                            std::make_move_iterator(batch.end()));
            wake_writer_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
        }
    }

    // Everything is written: make it durable before the writer goes away. The lock is held so
    // that append() on a caller's thread cannot write meanwhile.
    try {
        file_.flush(true);
    } catch (const std::exception& e) {
        errors_.report(e.what());
    }
}

}  // namespace seshook
