#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/beast/http/verb.hpp>

#include "seshook/config/config.hpp"
#include "seshook/sinks/dispatcher.hpp"
#include "seshook/sinks/rejects_store.hpp"

namespace seshook {

/// The answer to one HTTP request, independent of the transport.
struct http_answer {
    unsigned status = 200;
    std::string body;           // a small JSON document
    std::string allow;          // the Allow header of a 405, "" otherwise
    bool close = false;         // close the connection after answering
};

/// Counters of what the endpoint answered, readable from any thread.
struct handler_counters {
    std::atomic<std::uint64_t> requests_accepted{0};
    std::atomic<std::uint64_t> events_accepted{0};
    std::atomic<std::uint64_t> requests_rejected{0};
    std::atomic<std::uint64_t> unknown_events{0};
};

/// Decides the answer to each request: routes by path and method, validates callback bodies,
/// hands accepted events to the dispatcher and keeps refused bodies in the rejects store.
/// Pure of I/O itself (the dispatcher and the store queue their work), so it may run on the
/// server's I/O threads; safe to call from several threads at once.
class callback_handler {
public:
    callback_handler(const server_config& server, const schema_config& schema,
                     dispatcher& sinks, rejects_store& rejects);

    /// Answers one request that was read whole.
    http_answer handle(boost::beast::http::verb method, std::string_view target,
                       std::string_view body, std::string_view peer);

    /// Answers a request that could not be read whole (too large, malformed framing), keeping
    /// what was read of it in the rejects store with the reason `code`.
    http_answer refuse_unreadable(unsigned status, std::string_view code, std::string_view detail,
                                  std::string_view peer, std::string_view partial_body);

    const handler_counters& counters() const noexcept { return counters_; }

private:
    http_answer accept_callback(std::string_view body, std::string_view peer);
    http_answer reject(unsigned status, std::string_view code, std::string_view detail,
                       std::string_view peer, std::string_view body);

    std::string callback_path_;
    schema_config schema_;
    dispatcher& sinks_;
    rejects_store& rejects_;
    handler_counters counters_;
};

}  // namespace seshook
