#pragma once

#include <sys/resource.h>

#include <cerrno>
#include <csignal>
#include <system_error>

namespace seshook::testing {

/// Limits the size of every file this process writes (RLIMIT_FSIZE) for as long as the object
/// lives, as a full disk would. SIGXFSZ is ignored meanwhile, so that a write past the limit
/// fails with EFBIG (after writing what still fits) instead of killing the process.
/// NOTE: the limit holds for the whole process; use it only while the test alone writes files.
class file_size_limit {
public:
    explicit file_size_limit(rlim_t bytes) {
        if (::getrlimit(RLIMIT_FSIZE, &previous_) != 0) {
            throw std::system_error(errno, std::generic_category(), "getrlimit");
        }
        struct sigaction ignore {};
        ignore.sa_handler = SIG_IGN;
        ::sigemptyset(&ignore.sa_mask);
        ::sigaction(SIGXFSZ, &ignore, &previous_action_);

        rlimit limit = previous_;
        limit.rlim_cur = bytes;
        if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) {
            const int error = errno;
            ::sigaction(SIGXFSZ, &previous_action_, nullptr);
            throw std::system_error(error, std::generic_category(), "setrlimit");
        }
    }

    ~file_size_limit() {
        lift();
        ::sigaction(SIGXFSZ, &previous_action_, nullptr);
    }

    file_size_limit(const file_size_limit&) = delete;
    file_size_limit& operator=(const file_size_limit&) = delete;

    /// Restores the limit the process had before, as when space is freed on the disk.
    void lift() noexcept { ::setrlimit(RLIMIT_FSIZE, &previous_); }

private:
    rlimit previous_{};
    struct sigaction previous_action_ {};
};

}  // namespace seshook::testing
