#pragma once

#include <atomic>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "seshook/auth/client_address.hpp"
#include "seshook/auth/rate_limiter.hpp"
#include "seshook/auth/request_target.hpp"
#include "seshook/auth/secret_check.hpp"
#include "seshook/config/config.hpp"
#include "seshook/http/event_intake.hpp"
#include "seshook/metrics/answer_reason.hpp"
#include "seshook/metrics/endpoint_metrics.hpp"
#include "seshook/metrics/status_pages.hpp"
#include "seshook/sinks/rejects_store.hpp"
#include "seshook/support/error_reporter.hpp"

namespace seshook {

/// The answer to one HTTP request, independent of the transport.
struct http_answer {
    http_answer(unsigned status_code, std::string json_body, std::string allow_methods = {},
                answer_reason why = answer_reason::other)
        : status(status_code),
          body(std::move(json_body)),
          allow(std::move(allow_methods)),
          reason(why) {}

    unsigned status = 200;
    std::string body;                             // a small JSON document, or the metrics text
    std::string allow;                            // the Allow header of a 405, "" otherwise
    std::chrono::seconds retry_after{0};          // the Retry-After header when above zero
    bool close = false;                           // close the connection after answering
    answer_reason reason = answer_reason::other;  // why, for the request counter
    std::string_view content_type = "application/json";  // NOTE: static text only
};

/// What the handler counts into and which operations pages it serves besides /healthz. Each
/// part is optional; by default nothing is counted and only /healthz is served.
struct handler_operations {
    endpoint_metrics* metrics = nullptr;  // counts answers and repeats
    const status_pages* pages = nullptr;  // serves /readyz to anyone, and /metrics as below
    // Serve /metrics here (to a client that may post, with the callbacks' secret when secrets
    // are required); false when [metrics] listen serves it, and then it is an unknown path.
    bool serve_metrics = false;
};

/// What the handler reads of one request that was read whole. The views stay valid until
/// handle() returns.
struct http_request_info {
    boost::beast::http::verb method = boost::beast::http::verb::unknown;
    std::string_view target;         // as sent: origin form, absolute form, with its query
    std::string_view body;           // decoded (a gzip body is inflated before it gets here)
    std::string_view peer;           // the TCP peer's address, e.g. "203.0.113.7" or "::1"
    std::string_view authorization;  // the Authorization header, "" when absent
    std::string_view forwarded_for;  // the X-Forwarded-For header, "" when absent
    std::string_view real_ip;        // the X-Real-IP header, "" when absent
    bool screened = false;           // screen() already admitted its head: not counted again
};

/// Counters of what the endpoint answered, readable from any thread.
struct handler_counters {
    std::atomic<std::uint64_t> requests_accepted{0};
    std::atomic<std::uint64_t> events_accepted{0};
    std::atomic<std::uint64_t> requests_rejected{0};
    std::atomic<std::uint64_t> unknown_events{0};
    std::atomic<std::uint64_t> duplicate_events{0};       // repeats answered 200, not dispatched
    std::atomic<std::uint64_t> requests_deferred{0};      // answered 503 (spool full) or 500
    std::atomic<std::uint64_t> requests_forbidden{0};     // 403: client outside allow_networks
    std::atomic<std::uint64_t> requests_rate_limited{0};  // 429
    std::atomic<std::uint64_t> requests_not_found{0};     // 404: unknown path or no valid secret
};

/// Decides the answer to each request: finds the client (through trusted proxies), refuses
/// clients outside the allowed networks or over the rate limit, routes by path, secret and
/// method, validates callback bodies and their accounts, hands accepted events to the intake
/// (spool or memory) and keeps refused bodies in the rejects store. Pure of I/O itself (the intake
/// and the store queue their work), so it may run on the server's I/O threads; safe to call from
/// several threads at once.
class callback_handler {
public:
    using reply_fn = std::function<void(http_answer)>;

    /// `retry_after` is what a 503 for a full spool tells the client to wait; `auth` says who may
    /// post (everyone by default), `now` is the rate limiter's clock, replaceable for tests.
    callback_handler(const server_config& server, const schema_config& schema, event_intake& intake,
                     rejects_store& rejects,
                     std::chrono::seconds retry_after = std::chrono::seconds(5),
                     const auth_config& auth = {},
                     rate_limiter::now_fn now = &rate_limiter::clock::now);

    /// Judges the requests that start from now on by the callback path, rate limit, schema and
    /// auth of a reloaded config; requests being handled finish under the rules they started
    /// with. The rate limiter keeps its clients when the limit is unchanged. Thread-safe.
    void update(const server_config& server, const schema_config& schema,
                std::chrono::seconds retry_after, const auth_config& auth);

    /// Returns `target` masked for a log line, as mask_target() does, with the callback path in
    /// force.
    std::string masked_target(std::string_view target) const;

    /// Answers one request that was read whole: calls `reply` exactly once, at once or (for
    /// accepted events) when the intake has kept them, perhaps on another thread. Reads
    /// nothing of `target` and `body` after it returns.
    void handle(const http_request_info& request, reply_fn reply);

    /// Judges a request by its head alone, before any of its body is read: returns the answer
    /// for a client outside the allowed networks (403) or over the rate limit (429), and for a
    /// request that names no callback with a valid secret (the 404 of an unknown path);
    /// nullopt when the body is to be read. `head.body` is not looked at. A request that passed
    /// goes to handle() with `screened` set, so that the rate limit counts it once.
    std::optional<http_answer> screen(const http_request_info& head);

    /// The same, for a request that carries none of the headers http_request_info names.
    void handle(boost::beast::http::verb method, std::string_view target, std::string_view body,
                std::string_view peer, reply_fn reply);

    /// Answers a request that could not be read whole (too large, malformed framing) or whose
    /// body could not be decoded, keeping what was read of it in the rejects store with the
    /// reason `code`; `content_encoding` names the coding of a body that is still encoded. A
    /// peer outside the allowed networks or over the rate limit gets 403 or 429 instead, and
    /// nothing is kept; a trusted proxy's request is kept as before, since its client is not
    /// known here.
    /// `screened`: its head passed screen(), so the peer is not judged again.
    http_answer refuse_unreadable(unsigned status, std::string_view code, std::string_view detail,
                                  std::string_view peer, std::string_view partial_body,
                                  std::string_view content_encoding = {}, bool screened = false);

    const handler_counters& counters() const noexcept { return counters_; }

    /// Counts into and serves what `operations` says; call before the server starts.
    void use_operations(const handler_operations& operations) { operations_ = operations; }

    /// Returns the metrics that answers are counted into, or null when none are.
    endpoint_metrics* metrics() const noexcept { return operations_.metrics; }

private:
    // What a request is judged by; swapped whole by update(), never changed in place.
    struct policy {
        std::string callback_path;
        schema_config schema;
        std::chrono::seconds retry_after{5};
        network_list allow_networks;
        network_list trusted_proxies;
        secret_check secrets;
        bool tokens_configured = false;
        std::set<std::string, std::less<>> accounts;
        unsigned rate_limit = 0;
        unsigned rate_burst = 0;
        std::shared_ptr<rate_limiter> limiter;  // none when [server] rate_limit is 0
    };
    using policy_ptr = std::shared_ptr<const policy>;

    policy_ptr make_policy(const server_config& server, const schema_config& schema,
                           std::chrono::seconds retry_after, const auth_config& auth,
                           const policy* previous) const;
    std::optional<http_answer> open_page(std::string_view path, boost::beast::http::verb method);
    bool may_see_metrics(const policy& p, const target_parts& target,
                         std::string_view authorization) const;
    std::optional<http_answer> admit(const policy& p, const client_address& client,
                                     std::string_view target);
    http_answer answer_not_found(const policy& p, std::string_view target,
                                 const client_address& client);
    bool addresses_callback(const policy& p, const target_parts& target,
                            std::string_view authorization) const;
    std::optional<http_answer> check_accounts(const policy& p,
                                              const std::vector<validated_event>& events,
                                              std::string_view client, std::string_view body);
    void accept_callback(policy_ptr p, std::string_view body, std::string_view peer,
                         reply_fn reply);
    http_answer answer_intake(const policy& p, const intake_result& result, std::size_t events);
    http_answer reject(unsigned status, std::string_view code, std::string_view detail,
                       std::string_view peer, std::string_view body,
                       std::string_view content_encoding = {});

    event_intake& intake_;
    rejects_store& rejects_;
    rate_limiter::now_fn now_;
    std::atomic<policy_ptr> policy_;
    error_reporter forbidden_log_;
    error_reporter limited_log_;
    error_reporter full_errors_{"spool"};
    error_reporter spool_errors_{"spool"};
    handler_counters counters_;
    handler_operations operations_;
};

}  // namespace seshook
