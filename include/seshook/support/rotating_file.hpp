#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace seshook {

/// An append-only file that rotates by size: `events.jsonl` becomes `events.jsonl.1`, the old
/// `.1` becomes `.2`, and so on up to `max_files` kept rotations. Not thread-safe: one owner
/// thread writes to it. Every failure throws std::system_error naming the path.
///
/// Each line goes to the kernel with its own write(2), unbuffered: once append_line() returns,
/// the line survives a crash of seshook, and a line that fails (a full disk) is cut off again,
/// so that the file only ever holds whole lines.
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

    /// Opens (creating parent folders) or reopens the file for appending; an incomplete last
    /// line (a crash in the middle of a write) is cut off first, with a warning.
    void open();

    /// Appends one line and a newline, rotating first when the line would pass max_bytes.
    void append_line(std::string_view line);

    /// With `sync`, waits until what was appended is on stable storage; otherwise does nothing,
    /// since every line is already with the kernel.
    void flush(bool sync = false);

    /// Closes and opens the file again by name, so that a rename by logrotate takes effect.
    void reopen();

    /// Returns the size of the current file in bytes.
    std::uint64_t size() const noexcept { return size_; }

    const std::filesystem::path& path() const noexcept { return opts_.path; }

private:
    void rotate();
    void close() noexcept;

    /// Cuts the file back to `size` bytes, removing the start of a line that failed.
    void cut_back_to(std::uint64_t size) noexcept;

    options opts_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
};

}  // namespace seshook
