#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "support/raw_http.hpp"

struct ssl_session_st;  // OpenSSL's SSL_SESSION

namespace seshook::testing {

/// The TLS protocol versions a test client may be limited to.
enum class tls_protocol { any, tls1_1, tls1_2, tls1_3 };

/// A TLS session that a client may resume on its next connection; opaque to tests.
using tls_session = std::shared_ptr<::ssl_session_st>;

/// How a TLS connection ended, as the client saw it.
enum class tls_ending {
    close_notify,  // the server ended the TLS session properly
    cut,           // the connection ended without a close_notify (end of stream, reset)
    still_open,    // nothing ended it within the wait
};

/// What a test TLS client offers and checks.
struct tls_client_options {
    std::string trusted_root_pem;           // the chain must lead to it; empty: verify nothing
    std::string host_name = "localhost";    // sent as SNI and checked against the certificate
    tls_protocol only = tls_protocol::any;  // offer this version alone
    // Lifts the client's own security level to nothing, so that it really offers an old
    // version (OpenSSL 3 refuses TLS 1.1 by itself otherwise), and the refusal, if any, is the
    // server's.
    bool legacy = false;
    tls_session resume;  // offered for resumption; empty: a full handshake
};

/// A blocking TLS client connection to 127.0.0.1, for end-to-end tests: connects and completes
/// the handshake in the constructor (throwing std::runtime_error, with OpenSSL's reason, when
/// that fails), then sends bytes and reads HTTP responses. Every step waits at most `timeout`.
class tls_connection {
public:
    tls_connection(std::uint16_t port, tls_client_options options,
                   std::chrono::milliseconds timeout = std::chrono::seconds(5));
    ~tls_connection();
    tls_connection(const tls_connection&) = delete;
    tls_connection& operator=(const tls_connection&) = delete;

    /// Sends all of `bytes`.
    void send(std::string_view bytes);

    /// Reads one response; throws on timeout, or when the connection ends first.
    raw_response read_response();

    /// Returns the serial number of the server's certificate in hex, e.g. "1A2B".
    std::string peer_serial() const;

    /// Returns the common name of the server's certificate.
    std::string peer_common_name() const;

    /// Returns the negotiated version, e.g. "TLSv1.3".
    std::string protocol() const;

    /// Returns the session to resume later; with TLS 1.3 the server sends it after the
    /// handshake, so read a response first.
    tls_session session() const;

    /// Returns true when the handshake resumed the offered session instead of a full one.
    bool resumed() const;

    /// Waits until the server ends the connection, discarding what it still sends, and says
    /// how it ended; still_open when it stays open for `timeout`.
    tls_ending wait_end(std::chrono::milliseconds timeout);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// Tries a TLS handshake with 127.0.0.1:`port`; returns "" when it succeeds, else the reason.
std::string tls_handshake_error(std::uint16_t port, tls_client_options options);

/// Posts `body` to `target` over a fresh TLS connection and returns the response.
raw_response tls_post_once(std::uint16_t port, const tls_client_options& options,
                           std::string_view target, std::string_view body);

}  // namespace seshook::testing
