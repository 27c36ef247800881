#include "seshook/http/callback_handler.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <vector>

#include "seshook/auth/target_mask.hpp"
#include "seshook/event/record.hpp"
#include "seshook/support/printable.hpp"

namespace seshook {

namespace http = boost::beast::http;

namespace {

// Payload text quoted in log lines is cut at this length.
constexpr std::size_t max_logged_text = 200;

constexpr std::string_view ok_body = R"({"ok":true})";

std::string error_body(std::string_view code, std::string_view detail) {
    // nlohmann escapes the detail, which may quote parts of the payload; the ordered form keeps
    // "error" first for people reading answers by eye.
    return nlohmann::ordered_json{{"error", code}, {"detail", detail}}.dump(
        -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// Account ids quoted in answers and log lines are cut at this length.
constexpr std::size_t max_quoted_account = 32;

http_answer not_found() {
    return http_answer{404, error_body("not_found", "no such path"), {}, answer_reason::not_found};
}

http_answer from_page(status_page page) {
    http_answer answer{page.status, std::move(page.body), std::string(page.allow), page.reason};
    answer.content_type = page.content_type;
    return answer;
}

// Returns the key of a client's bucket: its address in one spelling, so that a dual-stack
// listener's "::ffff:192.0.2.1" and a proxy's "192.0.2.1" share it.
std::string bucket_key(const client_address& client) {
    return client.address ? to_string(*client.address) : client.text;
}

}  // namespace

callback_handler::callback_handler(const server_config& server, const schema_config& schema,
                                   event_intake& intake, rejects_store& rejects,
                                   std::chrono::seconds retry_after, const auth_config& auth,
                                   rate_limiter::now_fn now)
    : intake_(intake),
      rejects_(rejects),
      now_(std::move(now)),
      policy_(make_policy(server, schema, retry_after, auth, nullptr)),
      forbidden_log_("auth", std::chrono::seconds(1), report_level::warn),
      limited_log_("auth", std::chrono::seconds(1), report_level::warn) {}

callback_handler::policy_ptr callback_handler::make_policy(const server_config& server,
                                                           const schema_config& schema,
                                                           std::chrono::seconds retry_after,
                                                           const auth_config& auth,
                                                           const policy* previous) const {
    auto p = std::make_shared<policy>();
    p->callback_path = server.callback_path;
    p->schema = schema;
    p->retry_after = retry_after;
    p->allow_networks = auth.allow_networks;
    p->trusted_proxies = auth.trusted_proxies;
    p->secrets = secret_check(auth.tokens, auth.basic_users);
    p->tokens_configured = !auth.tokens.empty();
    p->accounts = auth.accounts;
    p->rate_limit = server.rate_limit;
    p->rate_burst = server.rate_burst;

    // NOTE: an unchanged limit keeps its limiter, so that a reload hands no client a fresh
    // burst.
    if (previous != nullptr && previous->rate_limit == p->rate_limit &&
        previous->rate_burst == p->rate_burst) {
        p->limiter = previous->limiter;
    } else if (server.rate_limit > 0) {
        p->limiter = std::make_shared<rate_limiter>(server.rate_limit,
                                                    std::max(1u, server.rate_burst), 65536, now_);
    }
    return p;
}

void callback_handler::update(const server_config& server, const schema_config& schema,
                              std::chrono::seconds retry_after, const auth_config& auth) {
    const policy_ptr previous = policy_.load();
    policy_.store(make_policy(server, schema, retry_after, auth, previous.get()));
}

std::string callback_handler::masked_target(std::string_view target) const {
    return mask_target(target, policy_.load()->callback_path);
}

void callback_handler::handle(http::verb method, std::string_view target, std::string_view body,
                              std::string_view peer, reply_fn reply) {
    http_request_info request;
    request.method = method;
    request.target = target;
    request.body = body;
    request.peer = peer;
    handle(request, std::move(reply));
}

void callback_handler::handle(const http_request_info& request, reply_fn reply) {
    const policy_ptr p = policy_.load();
    const target_parts target = split_target(request.target);

    // The health and readiness endpoints answer anyone, so that load balancers need neither
    // secret nor place in the allowed networks.
    if (auto page = open_page(target.path, request.method)) return reply(std::move(*page));

    // Find who is asking, through trusted proxies; refuse those not allowed or sending too fast.
    const client_address client =
        resolve_client(request.peer, request.forwarded_for, request.real_ip, p->trusted_proxies);
    if (!request.screened) {
        if (auto refusal = admit(*p, client, request.target)) return reply(std::move(*refusal));
    }

    // The callback endpoint, with a valid secret when secrets are configured, takes POST only.
    if (addresses_callback(*p, target, request.authorization)) {
        if (request.method == http::verb::post) {
            return accept_callback(p, request.body, client.text, std::move(reply));
        }
        return reply(http_answer{405, error_body("method_not_allowed", "use POST"), "POST",
                                 answer_reason::method_not_allowed});
    }

    // The metrics, when served here, under the same secret as the callbacks.
    if (may_see_metrics(*p, target, request.authorization)) {
        return reply(from_page(*operations_.pages->answer(target.path, request.method)));
    }

    reply(answer_not_found(*p, request.target, client));
}

std::optional<http_answer> callback_handler::screen(const http_request_info& head) {
    // The health and readiness endpoints are open to all.
    const target_parts target = split_target(head.target);
    if (target.path == healthz_path || (operations_.pages && target.path == readyz_path)) {
        return std::nullopt;
    }

    // The same checks as handle(), in the same order, up to the body.
    const policy_ptr p = policy_.load();
    const client_address client =
        resolve_client(head.peer, head.forwarded_for, head.real_ip, p->trusted_proxies);
    if (auto refusal = admit(*p, client, head.target)) return refusal;
    if (addresses_callback(*p, target, head.authorization)) return std::nullopt;
    if (may_see_metrics(*p, target, head.authorization)) return std::nullopt;
    return answer_not_found(*p, head.target, client);
}

std::optional<http_answer> callback_handler::open_page(std::string_view path, http::verb method) {
    if (operations_.pages && (path == healthz_path || path == readyz_path)) {
        return from_page(*operations_.pages->answer(path, method));
    }

    // Without the pages (unit tests, tools), /healthz alone is served.
    if (path != healthz_path) return std::nullopt;
    if (method == http::verb::get || method == http::verb::head) {
        return http_answer{200, std::string(ok_body), {}, answer_reason::healthz};
    }
    return http_answer{405, error_body("method_not_allowed", "use GET"), "GET, HEAD",
                       answer_reason::method_not_allowed};
}

bool callback_handler::may_see_metrics(const policy& p, const target_parts& target,
                                       std::string_view authorization) const {
    // NOTE: without secrets, anyone who may post may read the figures too; with them, the
    // figures would tell a stranger what the endpoint receives, so they need a secret as well,
    // in the query (?token=) or as Basic credentials, and without one the path is unknown.
    if (!operations_.serve_metrics || operations_.pages == nullptr) return false;
    if (target.path != metrics_path) return false;
    return p.secrets.passes(query_value(target.query, "token"), authorization);
}

http_answer callback_handler::answer_not_found(const policy& p, std::string_view target,
                                               const client_address& client) {
    // NOTE: a missing or wrong secret gets the very answer of an unknown path, so that no one
    // learns from it that the endpoint exists; no challenge (WWW-Authenticate) is sent for the
    // same reason. Neither is kept in the rejects file: scanners probe every public address,
    // and their noise would bury the callbacks an operator needs to find.
    counters_.requests_not_found.fetch_add(1, std::memory_order_relaxed);
    if (spdlog::should_log(spdlog::level::debug)) {
        spdlog::debug("[http] 404 for {} from {}",
                      printable(mask_target(target, p.callback_path), max_logged_text),
                      printable(client.text, max_logged_text));
    }
    return not_found();
}

std::optional<http_answer> callback_handler::admit(const policy& p, const client_address& client,
                                                   std::string_view target) {
    // Only the allowed networks may post.
    // NOTE: not kept in the rejects file, as scanners from everywhere would fill it.
    if (!p.allow_networks.empty() &&
        !(client.address && p.allow_networks.contains(*client.address))) {
        counters_.requests_forbidden.fetch_add(1, std::memory_order_relaxed);
        const std::string what =
            target.empty() ? std::string("an unreadable request")
                           : printable(mask_target(target, p.callback_path), max_logged_text);
        forbidden_log_.report(
            fmt::format("client {} is not in [auth] allow_networks, answered 403 ({})",
                        printable(client.text, max_logged_text), what));
        return http_answer{403,
                           error_body("forbidden", "client address not allowed"),
                           {},
                           answer_reason::forbidden};
    }

    // Each client may send its burst at once, then the rate; the answer says when to retry.
    if (!p.limiter) return std::nullopt;
    const auto decision = p.limiter->take(bucket_key(client));
    if (decision.allowed) return std::nullopt;
    counters_.requests_rate_limited.fetch_add(1, std::memory_order_relaxed);
    limited_log_.report(fmt::format("client {} is over [server] rate_limit, answered 429",
                                    printable(client.text, max_logged_text)));
    http_answer answer{429,
                       error_body("rate_limited", "too many requests, retry later"),
                       {},
                       answer_reason::rate_limited};
    answer.retry_after = decision.retry_after;
    return answer;
}

bool callback_handler::addresses_callback(const policy& p, const target_parts& target,
                                          std::string_view authorization) const {
    // The path: the callback path itself, or, when tokens are configured, one more segment
    // after it that holds the token.
    std::optional<std::string_view> token;
    if (target.path != p.callback_path) {
        if (!p.tokens_configured) return false;
        token = rest_after(target.path, p.callback_path);
        if (!token || token->empty() || token->find('/') != std::string_view::npos) return false;
    } else if (p.tokens_configured) {
        token = query_value(target.query, "token");
    }

    // Then the secret, when one is required.
    return p.secrets.passes(token, authorization);
}

void callback_handler::accept_callback(policy_ptr p, std::string_view body, std::string_view peer,
                                       reply_fn reply) {
    // Validate the whole body; one bad element refuses the request, so Tencent's retry (or an
    // operator's replay) resends it whole and nothing is half-accepted.
    auto parsed = parse_callback(body, p->schema.mode, p->schema.limits);
    if (!parsed) {
        const schema_rejection& why = parsed.error();
        return reply(reject(400, to_string(why.error), why.detail, peer, body));
    }

    // Take only the events of the listed accounts; one that is not listed refuses the request.
    if (auto refusal = check_accounts(*p, *parsed, peer, body)) return reply(std::move(*refusal));

    // Turn each event into a shared record.
    const auto now = std::chrono::system_clock::now();
    std::vector<record_ptr> records;
    records.reserve(parsed->size());
    for (validated_event& event : *parsed) {
        if (event.unknown_event) {
            counters_.unknown_events.fetch_add(1, std::memory_order_relaxed);
            spdlog::warn("[http] unknown event name '{}' from {} accepted and flagged (id {})",
                         printable(event.event, max_logged_text), peer, event.id);
        }
        records.push_back(make_record(std::move(event), std::string(peer), now));
    }

    // Hand them to the intake; the answer waits until they are kept as the durability mode
    // promises (committed to the spool, or queued in memory).
    const std::size_t events = records.size();
    intake_.take(std::move(records),
                 [this, p = std::move(p), events, reply = std::move(reply)](intake_result result) {
                     reply(answer_intake(*p, result, events));
                 });
}

std::optional<http_answer> callback_handler::check_accounts(
    const policy& p, const std::vector<validated_event>& events, std::string_view client,
    std::string_view body) {
    if (p.accounts.empty()) return std::nullopt;
    for (std::size_t i = 0; i < events.size(); ++i) {
        const std::string& account = events[i].username;
        if (p.accounts.contains(account)) continue;

        // NOTE: kept in the rejects file, body and all: the list may be what is wrong (a new
        // account not added yet), and the operator replays the body once it is fixed.
        std::string detail = events.size() > 1 ? "element " + std::to_string(i) + ": " : "";
        detail += account.empty() ? "the event has no 'username', and [auth] accounts requires one"
                                  : "account '" + printable(account, max_quoted_account) +
                                        "' is not in [auth] accounts";
        return reject(403, "account_not_allowed", detail, client, body);
    }
    return std::nullopt;
}

http_answer callback_handler::answer_intake(const policy& p, const intake_result& result,
                                            std::size_t events) {
    switch (result.outcome) {
        case intake_result::status::accepted: {
            counters_.requests_accepted.fetch_add(1, std::memory_order_relaxed);
            counters_.events_accepted.fetch_add(events - result.duplicates,
                                                std::memory_order_relaxed);
            if (result.duplicates == 0) {
                return http_answer{200, std::string(ok_body), {}, answer_reason::accepted};
            }
            counters_.duplicate_events.fetch_add(result.duplicates, std::memory_order_relaxed);
            if (operations_.metrics) operations_.metrics->count_duplicates(result.duplicates);
            SPDLOG_DEBUG("[http] {} repeated events answered and not dispatched again",
                         result.duplicates);
            return http_answer{200,
                               fmt::format(R"({{"ok":true,"duplicates":{}}})", result.duplicates),
                               {},
                               answer_reason::duplicate};
        }
        case intake_result::status::full: {
            // NOTE: nothing is kept of the body: the client was told to send it again.
            counters_.requests_deferred.fetch_add(1, std::memory_order_relaxed);
            full_errors_.report(
                "the spool is full: callbacks are answered 503 until the sinks "
                "catch up (see [spool] max_bytes)");
            http_answer answer{503,
                               error_body("spool_full", "the spool is full, retry later"),
                               {},
                               answer_reason::spool_full};
            answer.retry_after = p.retry_after;
            return answer;
        }
        case intake_result::status::failed:
            break;
    }
    counters_.requests_deferred.fetch_add(1, std::memory_order_relaxed);
    spool_errors_.report("cannot keep a callback, answered 500: " + result.error);
    return http_answer{500,
                       error_body("spool_failed", "the event could not be stored, retry"),
                       {},
                       answer_reason::spool_failed};
}

http_answer callback_handler::refuse_unreadable(unsigned status, std::string_view code,
                                                std::string_view detail, std::string_view peer,
                                                std::string_view partial_body,
                                                std::string_view content_encoding, bool screened) {
    // A peer that may not post, or not now, is told so, and nothing of it is kept.
    // NOTE: the forwarding headers of a request that could not be read are not to be trusted,
    // so behind a trusted proxy the client is unknown and the request is kept as before.
    const policy_ptr p = policy_.load();
    const client_address client = resolve_client(peer, "", "", p->trusted_proxies);
    const bool behind_proxy = client.address && p->trusted_proxies.contains(*client.address);
    std::optional<http_answer> refusal;
    if (!behind_proxy && !screened) refusal = admit(*p, client, "");
    if (refusal) {
        refusal->close = true;
        return std::move(*refusal);
    }

    // A head that could not be read holds no secret to judge: when secrets are required, it
    // is answered but not kept, or anyone could fill the rejects file; such a request has no
    // readable body to replay anyway.
    if (!screened && p->secrets.required()) {
        counters_.requests_rejected.fetch_add(1, std::memory_order_relaxed);
        SPDLOG_DEBUG("[http] unreadable request from {} refused, not kept: {}",
                     printable(peer, max_logged_text), code);
        http_answer answer{status, error_body(code, detail), {}, answer_reason_from_code(code)};
        answer.close = true;
        return answer;
    }
    http_answer answer = reject(status, code, detail, peer, partial_body, content_encoding);
    answer.close = true;
    return answer;
}

http_answer callback_handler::reject(unsigned status, std::string_view code,
                                     std::string_view detail, std::string_view peer,
                                     std::string_view body, std::string_view content_encoding) {
    // Keep the body for inspection and replay, then tell the client and the operator why.
    counters_.requests_rejected.fetch_add(1, std::memory_order_relaxed);
    rejects_.keep(code, detail, peer, body, content_encoding);
    spdlog::warn("[http] rejected callback from {}: {}: {}", peer, code,
                 printable(detail, max_logged_text));
    return http_answer{status, error_body(code, detail), {}, answer_reason_from_code(code)};
}

}  // namespace seshook
