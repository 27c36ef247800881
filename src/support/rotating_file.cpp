#include "seshook/support/rotating_file.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

namespace seshook {
namespace {

[[noreturn]] void throw_errno(int error, std::string_view action,
                              const std::filesystem::path& path) {
    throw std::system_error(error, std::generic_category(),
                            "rotating_file: cannot " + std::string(action) + " " + path.string());
}

std::filesystem::path numbered(const std::filesystem::path& path, unsigned n) {
    std::filesystem::path rotated = path;
    rotated += "." + std::to_string(n);
    return rotated;
}

// Renames `from` to `to` when `from` exists; a missing rotation is simply skipped.
void rename_if_present(const std::filesystem::path& from, const std::filesystem::path& to) {
    std::error_code ec;
    if (!std::filesystem::exists(from, ec)) return;
    std::filesystem::rename(from, to, ec);
    if (ec) {
        throw std::system_error(
            ec, "rotating_file: cannot rename " + from.string() + " to " + to.string());
    }
}

// Returns the size of the file up to and including its last newline: what remains after the
// last line that was written whole. Reads backwards in blocks; throws on a read error.
std::uint64_t whole_lines_size(int fd, std::uint64_t size, const std::filesystem::path& path) {
    constexpr std::uint64_t block = 64 * 1024;
    std::string buffer;
    for (std::uint64_t end = size; end > 0;) {
        const std::uint64_t start = end > block ? end - block : 0;
        buffer.resize(end - start);
        const ssize_t got = ::pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(start));
        if (got != static_cast<ssize_t>(buffer.size())) throw_errno(errno, "read", path);
        const auto newline = buffer.rfind('\n');
        if (newline != std::string::npos) return start + newline + 1;
        end = start;
    }
    return 0;
}

}  // namespace

rotating_file::rotating_file(options opts) : opts_(std::move(opts)) {}

rotating_file::~rotating_file() { close(); }

void rotating_file::open() {
    close();

    // Create the parent folders so that a fresh `var/` works out of the box.
    const auto parent = opts_.path.parent_path();
    if (!parent.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(parent, ec);
        if (ec) {
            throw std::system_error(ec, "rotating_file: cannot create folder " + parent.string());
        }
    }

    // Open for appending and learn how much the file already holds.
    const int fd = ::open(opts_.path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw_errno(errno, "open", opts_.path);
    struct stat info {};
    if (::fstat(fd, &info) != 0) {
        const int error = errno;
        ::close(fd);
        throw_errno(error, "inspect", opts_.path);
    }
    fd_ = fd;
    size_ = static_cast<std::uint64_t>(info.st_size);

    // A kill in the middle of a write can leave the start of a line without its end; the next
    // line would be glued to it, and neither would parse. Cut it off.
    // NOTE: what is cut was never reported written (append_line() had not returned), so its
    // owner still holds it: a sink's event is still in the spool and is written again.
    try {
        const std::uint64_t whole = size_ == 0 ? 0 : whole_lines_size(fd_, size_, opts_.path);
        if (whole < size_) {
            if (::ftruncate(fd_, static_cast<off_t>(whole)) != 0) {
                throw_errno(errno, "cut the incomplete last line of", opts_.path);
            }
            spdlog::warn("[file] {}: cut {} bytes of an incomplete last line, left by a crash",
                         opts_.path.string(), size_ - whole);
            size_ = whole;
        }
    } catch (...) {
        close();
        throw;
    }
}

void rotating_file::append_line(std::string_view line) {
    // NOTE: a file closed by a failed reopen or rotation is opened again here, so that writing
    // recovers by itself once the cause (a missing folder, a full disk) is gone.
    if (fd_ < 0) open();

    // Rotate first, unless the file is empty: a line longer than max_bytes still gets written.
    const std::uint64_t needed = line.size() + 1;
    if (opts_.max_bytes > 0 && size_ > 0 && size_ + needed > opts_.max_bytes) rotate();

    // Write the line and its newline together, continuing after a short write.
    char newline = '\n';
    iovec parts[2] = {{const_cast<char*>(line.data()), line.size()}, {&newline, 1}};
    iovec* next = parts;
    int left = 2;
    while (left > 0) {
        const ssize_t n = ::writev(fd_, next, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int error = n < 0 ? errno : EIO;
            cut_back_to(size_);
            throw_errno(error, "write to", opts_.path);
        }

        // Step past what the kernel took.
        auto done = static_cast<std::size_t>(n);
        while (left > 0 && done >= next->iov_len) {
            done -= next->iov_len;
            ++next;
            --left;
        }
        if (left > 0) {
            next->iov_base = static_cast<char*>(next->iov_base) + done;
            next->iov_len -= done;
        }
    }
    size_ += needed;
}

void rotating_file::flush(bool sync) {
    if (fd_ < 0 || !sync) return;
    if (::fdatasync(fd_) != 0) throw_errno(errno, "sync", opts_.path);
}

void rotating_file::reopen() {
    // NOTE: synced first, for the same reason as before a rotation: the old file, renamed by
    // logrotate, is out of reach of the next flush(true).
    flush(true);
    open();
}

void rotating_file::cut_back_to(std::uint64_t size) noexcept {
    // NOTE: if even this fails, the partial line stays; the next whole line then starts after
    // it on the same line, and a reader sees one line that is not valid JSON.
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
        close();
    }
}

void rotating_file::rotate() {
    // NOTE: synced first, since a caller's later flush(true) reaches only the new file; what was
    // appended here must be as safe as if it had stayed.
    flush(true);
    close();

    // Shift the kept rotations up by one, dropping the oldest, then move the current file to .1;
    // with no rotations kept, the current file is simply started afresh.
    try {
        if (opts_.max_files == 0) {
            std::error_code ec;
            std::filesystem::remove(opts_.path, ec);
            if (ec) {
                throw std::system_error(ec, "rotating_file: cannot remove " + opts_.path.string());
            }
        } else {
            std::error_code ec;
            std::filesystem::remove(numbered(opts_.path, opts_.max_files), ec);
            for (unsigned n = opts_.max_files - 1; n >= 1; --n) {
                rename_if_present(numbered(opts_.path, n), numbered(opts_.path, n + 1));
            }
            rename_if_present(opts_.path, numbered(opts_.path, 1));
        }
    } catch (...) {
        // Keep writing to the unrotated file rather than to nothing; the next line retries.
        open();
        throw;
    }
    open();
}

void rotating_file::close() noexcept {
    if (fd_ < 0) return;
    ::close(fd_);
    fd_ = -1;
    size_ = 0;
}

}  // namespace seshook
