#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

namespace seshook {

/// The parts of an http:// or https:// URL that a client needs.
struct http_url {
    bool tls = false;
    std::string host;
    std::uint16_t port = 0;
    std::string target;  // path and query, "/" at least

    /// Parses `text`; returns nothing when it is not an absolute http(s) URL.
    static std::optional<http_url> parse(std::string_view text);
};

/// The answer to one request, or why there was none.
struct http_exchange {
    bool transport_ok = false;  // false: connect/TLS/write/read failed or timed out
    unsigned status = 0;
    std::string error;  // set when !transport_ok, e.g. "connect: connection refused"
    std::string body;   // the start of the response body, for the dead-letter file
};

/// How an https client checks the server it talks to; plain http ignores it.
struct tls_verification {
    bool verify_peer = true;  // false: any certificate is accepted, for tests only
    std::string ca_pem;       // PEM certificates trusted instead of the system's; "": the system's
};

/// Returns why `pem` cannot serve as tls_verification::ca_pem (such as "holds no PEM
/// certificate"), or "" when it can.
std::string ca_bundle_problem(std::string_view pem);

/// A blocking HTTP/1.1 client for one origin that keeps its connection alive between requests
/// and reconnects when the peer closed it. It runs its own private io_context on the caller's
/// thread, so it is meant for a sink's worker thread, never an I/O thread of the server.
class http_client {
public:
    /// Creates a client for the origin of `url`. For https it speaks TLS 1.2 or later and, unless
    /// `tls` says otherwise, checks that the server's certificate chains to a trusted authority
    /// and names the URL's host. Throws boost::system::system_error when `tls.ca_pem` cannot be
    /// used.
    explicit http_client(http_url url, tls_verification tls = {});
    ~http_client();

    /// POSTs `body` with the given headers; the whole exchange (connect included) is bounded by
    /// `timeout`, and it gives up early when `stop` is requested.
    http_exchange post(std::string_view body, const std::map<std::string, std::string>& headers,
                       std::chrono::milliseconds timeout, std::stop_token stop);

    /// Drops the kept-alive connection.
    void disconnect() noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace seshook
