#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/test_certificates.hpp"

namespace seshook::testing {

/// One request as the receiver read it.
struct received_request {
    std::string method;
    std::string target;
    std::vector<std::pair<std::string, std::string>> headers;  // in order, names as sent
    std::string body;
    std::size_t connection = 0;  // 1 for the first accepted connection, 2 for the next, ...

    /// Returns the value of the first header called `name` (compared without case), or "".
    std::string header(std::string_view name) const;

    /// Returns true when a header called `name` (compared without case) was sent.
    bool has_header(std::string_view name) const;
};

/// What the receiver does with one request.
struct receiver_reply {
    unsigned status = 200;
    std::string body = R"({"ok":true})";
    bool close = false;         // answers with `Connection: close`, then closes
    bool drop_after = false;    // answers as if keeping the connection, then closes it silently
    bool never_answer = false;  // keeps the connection open and never says a word
    std::string raw;            // when set, sent byte for byte instead of status and body
};

/// A small real HTTP/1.1 server on 127.0.0.1 and an ephemeral port, run on its own thread, that
/// records every request and answers as its behaviour says. Keep-alive is honoured. Stops in
/// its destructor.
class tiny_http_receiver {
public:
    /// Decides the reply to a request; `index` counts requests from 0 across all connections.
    using behaviour =
        std::function<receiver_reply(const received_request& request, std::size_t index)>;

    /// Starts a plain HTTP receiver.
    explicit tiny_http_receiver(behaviour respond = answer_always(200));

    /// Starts a plain HTTP receiver on 127.0.0.1:`port`, so that a test can bring back one it
    /// stopped; throws when the port stays taken for a second.
    explicit tiny_http_receiver(std::uint16_t port, behaviour respond = answer_always(200));

    /// Starts an HTTPS receiver presenting `identity`.
    explicit tiny_http_receiver(tls_identity identity, behaviour respond = answer_always(200));

    ~tiny_http_receiver();
    tiny_http_receiver(const tiny_http_receiver&) = delete;

    /// Stops serving: nothing more is read or answered. What was received stays readable and
    /// complete, since no request is recorded after this returns.
    void stop();
    tiny_http_receiver& operator=(const tiny_http_receiver&) = delete;

    /// Returns a behaviour that answers every request with `status`.
    static behaviour answer_always(unsigned status);

    /// Returns a behaviour that answers with the statuses in turn, then repeats the last one.
    static behaviour answer_in_turn(std::vector<unsigned> statuses);

    /// Returns a behaviour that reads each request and never answers it.
    static behaviour never_answer();

    /// Replaces the behaviour for the requests still to come.
    void set_behaviour(behaviour respond);

    /// Returns the port the receiver listens on.
    std::uint16_t port() const noexcept;

    /// Returns a URL of this receiver, e.g. "http://127.0.0.1:41234/hook".
    std::string url(std::string_view target = "/hook") const;

    /// Returns a copy of every request received so far, in order of arrival.
    std::vector<received_request> requests() const;

    /// Returns how many requests were received so far.
    std::size_t request_count() const;

    /// Returns how many connections were accepted so far.
    std::size_t connection_count() const;

    /// Waits until at least `count` requests arrived; returns false when `timeout` passed first.
    bool wait_for_requests(std::size_t count, std::chrono::milliseconds timeout) const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace seshook::testing
