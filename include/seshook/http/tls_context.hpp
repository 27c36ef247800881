#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "seshook/config/config.hpp"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace seshook {

/// A server TLS context built from `[tls]`, and what its certificate says of itself.
struct tls_server_context {
    std::shared_ptr<boost::asio::ssl::context> context;
    std::string certificate;  // "subject CN=…, serial 1A2B, valid until 2026-01-31T12:00:00Z"
    bool outside_validity = false;  // expired, or not valid yet
};

/// Builds a server TLS context from `tls`: the certificate chain of `cert_file` and the key of
/// `key_file`, which must belong together; TLS `min_version` or later, never older than 1.2;
/// the cipher lists; no compression, no renegotiation, resumption by session tickets only.
/// Throws config_error naming `source` and the key at fault, never the content of the key.
tls_server_context make_tls_context(const tls_config& tls, std::string_view source);

/// The TLS context that new connections take. A reload builds a new one from the same files
/// and swaps it in; connections already open keep the context they started with.
class tls_context_store {
public:
    /// Builds the first context; throws config_error as make_tls_context() does.
    tls_context_store(tls_config settings, std::string source);

    /// Returns the context for a new connection.
    std::shared_ptr<boost::asio::ssl::context> current() const;

    /// Reads the certificate and key files again. On success new connections get the new
    /// certificate; on failure an error naming the file is logged and the current one stays.
    /// Returns true on success.
    bool reload();

    /// Returns the `[tls]` settings the store was made with.
    const tls_config& settings() const noexcept { return settings_; }

    /// Returns the description of the certificate new connections get.
    std::string certificate() const;

    /// Counts a connection whose TLS handshake failed (scanners, clients with no common
    /// version or cipher, silent clients cut off).
    void count_failed_handshake() noexcept;

    /// Returns the number of failed handshakes so far.
    std::uint64_t failed_handshakes() const noexcept;

private:
    const tls_config settings_;
    const std::string source_;
    mutable std::mutex mutex_;
    tls_server_context current_;
    std::atomic<std::uint64_t> failed_handshakes_{0};
};

}  // namespace seshook
