#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace seshook::testing {

/// One HTTP response as it came over the wire.
struct raw_response {
    std::string version;  // "HTTP/1.1"
    unsigned status = 0;
    std::string reason;
    std::vector<std::pair<std::string, std::string>> headers;  // in order, names as sent
    std::string body;

    /// Returns the value of the first header called `name` (compared without case), or "".
    std::string header(std::string_view name) const;

    /// Returns true when a header called `name` (compared without case) was sent.
    bool has_header(std::string_view name) const;
};

/// A blocking client connection to 127.0.0.1 over a plain POSIX socket, which sends whatever
/// bytes a test gives it (malformed HTTP included) and reads responses one at a time, so that
/// keep-alive and pipelining can be exercised on one connection. Every read waits at most the
/// receive timeout. Failures throw std::runtime_error.
class raw_connection {
public:
    /// Connects to 127.0.0.1:`port`.
    explicit raw_connection(std::uint16_t port,
                            std::chrono::milliseconds timeout = std::chrono::seconds(5));

    /// Connects to 127.0.0.1:`port` from the loopback address `source` (e.g. "127.0.0.2"), so
    /// that a test can be a second client as the server counts them; from "::1", connects to
    /// [::1]:`port` instead (a server listening on "[::1]:0").
    raw_connection(std::uint16_t port, const std::string& source,
                   std::chrono::milliseconds timeout = std::chrono::seconds(5));
    ~raw_connection();
    raw_connection(const raw_connection&) = delete;
    raw_connection& operator=(const raw_connection&) = delete;

    /// Sends all of `bytes`.
    void send(std::string_view bytes);

    /// Reads one response: status line, headers and a Content-Length body (or, without
    /// Content-Length, a body up to the end of the connection); `to_head_request` says the
    /// request was HEAD, whose answer has no body. Throws on timeout, or when the connection
    /// ends before a whole response.
    raw_response read_response(bool to_head_request = false);

    /// Waits until the peer closes the connection (end of stream or reset), discarding what it
    /// still sends; returns false when it stays open for `timeout`.
    bool wait_closed(std::chrono::milliseconds timeout);

    /// Waits until the peer closes the connection and returns every byte it sent after the
    /// responses read so far; returns nothing when it stays open for `timeout`.
    std::optional<std::string> rest_until_closed(std::chrono::milliseconds timeout);

    /// Returns true when nothing is buffered and the peer has not closed, after waiting
    /// `timeout` for either.
    bool is_silent_for(std::chrono::milliseconds timeout);

    /// Sets how long each read may wait.
    void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

    /// Half-closes the sending side (the peer reads end of stream).
    void shutdown_send();

private:
    void connect(std::uint16_t port, const std::string& source);

    // Reads more bytes into `buffer_`; returns false at end of stream, throws on timeout.
    bool fill(std::chrono::milliseconds timeout);
    std::string take_line();

    int fd_ = -1;
    std::chrono::milliseconds timeout_;
    std::string buffer_;
};

/// Builds a POST of `body` to `target` with a Content-Length and the given extra header lines
/// (each ending in "\r\n"), as HTTP/1.1 with keep-alive.
std::string make_post(std::string_view target, std::string_view body,
                      std::string_view extra_headers = "Content-Type: application/json\r\n");

/// Sends one request on a fresh connection and returns the response.
raw_response send_once(std::uint16_t port, std::string_view request,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace seshook::testing
