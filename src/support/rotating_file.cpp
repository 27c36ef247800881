#include "seshook/support/rotating_file.hpp"

#include <sys/stat.h>
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
    std::FILE* file = std::fopen(opts_.path.c_str(), "a");
    if (file == nullptr) throw_errno(errno, "open", opts_.path);
    struct stat info {};
    if (::fstat(::fileno(file), &info) != 0) {
        const int error = errno;
        std::fclose(file);
        throw_errno(error, "inspect", opts_.path);
    }
    file_ = file;
    size_ = static_cast<std::uint64_t>(info.st_size);
}

void rotating_file::append_line(std::string_view line) {
    // NOTE: a file closed by a failed reopen or rotation is opened again here, so that writing
    // recovers by itself once the cause (a missing folder, a full disk) is gone.
    if (file_ == nullptr) open();

    // Rotate first, unless the file is empty: a line longer than max_bytes still gets written.
    const std::uint64_t needed = line.size() + 1;
    if (opts_.max_bytes > 0 && size_ > 0 && size_ + needed > opts_.max_bytes) rotate();

    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() ||
        std::fputc('\n', file_) == EOF) {
        throw_errno(errno, "write to", opts_.path);
    }
    size_ += needed;
}

void rotating_file::flush(bool sync) {
    if (file_ == nullptr) return;
    if (std::fflush(file_) != 0) throw_errno(errno, "flush", opts_.path);
    if (sync && ::fsync(::fileno(file_)) != 0) throw_errno(errno, "sync", opts_.path);
}

void rotating_file::reopen() {
    // Hand what is buffered to the old file (now perhaps renamed) before leaving it.
    if (file_ != nullptr && std::fflush(file_) != 0) {
        const int error = errno;
        close();
        throw_errno(error, "flush", opts_.path);
    }
    open();
}

void rotating_file::rotate() {
    if (std::fflush(file_) != 0) throw_errno(errno, "flush", opts_.path);
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
    if (file_ == nullptr) return;
    std::fclose(file_);
    file_ = nullptr;
    size_ = 0;
}

}  // namespace seshook
