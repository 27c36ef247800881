#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string_view>

namespace seshook {

/// An append-only file that rotates by size: `events.jsonl` becomes `events.jsonl.1`, the old
/// `.1` becomes `.2`, and so on up to `max_files` kept rotations. Not thread-safe: one owner
/// thread writes to it. Every failure throws std::system_error naming the path.
class rotating_file {
public:
    /// Describes where the file lives and when it rotates; max_bytes 0 never rotates.
    struct options {
        std::filesystem::path path;
        std::uint64_t max_bytes = 0;
        unsigned max_files = 0;
    };

    explicit rotating_file(options opts);
    ~rotating_file();
    rotating_file(const rotating_file&) = delete;
    rotating_file& operator=(const rotating_file&) = delete;

    /// Opens (creating parent folders) or reopens the file for appending.
    void open();

    /// Appends one line and a newline, rotating first when the line would pass max_bytes.
    void append_line(std::string_view line);

    /// Hands buffered bytes to the kernel; with `sync`, waits until they are on stable storage.
    void flush(bool sync = false);

    /// Closes and opens the file again by name, so that a rename by logrotate takes effect.
    void reopen();

    /// Returns the size of the current file in bytes.
    std::uint64_t size() const noexcept { return size_; }

    const std::filesystem::path& path() const noexcept { return opts_.path; }

private:
    void rotate();
    void close() noexcept;

    options opts_;
    std::FILE* file_ = nullptr;
    std::uint64_t size_ = 0;
};

}  // namespace seshook
