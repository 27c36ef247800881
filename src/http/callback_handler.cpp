#include "seshook/http/callback_handler.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/beast/core/string.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <vector>

#include "seshook/event/record.hpp"
#include "seshook/support/printable.hpp"

namespace seshook {

namespace http = boost::beast::http;

namespace {

// Payload text quoted in log lines is cut at this length.
constexpr std::size_t max_logged_text = 200;

constexpr std::string_view health_path = "/healthz";
constexpr std::string_view ok_body = R"({"ok":true})";

// Returns the path of a request target, without its query; the absolute form
// ("http://host:8080/callback", which RFC 9112 lets a client send) is reduced to its path.
std::string_view path_of(std::string_view target) {
    for (const std::string_view scheme : {"http://", "https://"}) {
        if (target.size() < scheme.size() ||
            !boost::beast::iequals(target.substr(0, scheme.size()), scheme)) {
            continue;
        }
        const auto slash = target.find('/', scheme.size());
        target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
        break;
    }
    return target.substr(0, target.find('?'));
}

std::string error_body(std::string_view code, std::string_view detail) {
    // nlohmann escapes the detail, which may quote parts of the payload; the ordered form keeps
    // "error" first for people reading answers by eye.
    return nlohmann::ordered_json{{"error", code}, {"detail", detail}}.dump(
        -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

callback_handler::callback_handler(const server_config& server, const schema_config& schema,
                                   event_intake& intake, rejects_store& rejects,
                                   std::chrono::seconds retry_after)
    : callback_path_(server.callback_path),
      schema_(schema),
      intake_(intake),
      rejects_(rejects),
      retry_after_(retry_after) {}

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
    const std::string_view path = path_of(request.target);

    // The callback endpoint takes POST only.
    if (path == callback_path_) {
        if (request.method == http::verb::post) {
            return accept_callback(request.body, request.peer, std::move(reply));
        }
        return reply(http_answer{405, error_body("method_not_allowed", "use POST"), "POST"});
    }

    // The health endpoint answers as long as the server runs.
    if (path == health_path) {
        if (request.method == http::verb::get || request.method == http::verb::head) {
            return reply(http_answer{200, std::string(ok_body)});
        }
        return reply(http_answer{405, error_body("method_not_allowed", "use GET"), "GET, HEAD"});
    }

    // NOTE: unknown paths are not kept in the rejects file: scanners probe every public
    // address, and their noise would bury the callbacks an operator needs to find.
    reply(http_answer{404, error_body("not_found", "no such path")});
}

void callback_handler::accept_callback(std::string_view body, std::string_view peer,
                                       reply_fn reply) {
    // Validate the whole body; one bad element refuses the request, so Tencent's retry (or an
    // operator's replay) resends it whole and nothing is half-accepted.
    auto parsed = parse_callback(body, schema_.mode, schema_.limits);
    if (!parsed) {
        const schema_rejection& why = parsed.error();
        return reply(reject(400, to_string(why.error), why.detail, peer, body));
    }

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
                 [this, events, reply = std::move(reply)](intake_result result) {
                     reply(answer_intake(result, events));
                 });
}

http_answer callback_handler::answer_intake(const intake_result& result, std::size_t events) {
    switch (result.outcome) {
        case intake_result::status::accepted: {
            counters_.requests_accepted.fetch_add(1, std::memory_order_relaxed);
            counters_.events_accepted.fetch_add(events - result.duplicates,
                                                std::memory_order_relaxed);
            if (result.duplicates == 0) return http_answer{200, std::string(ok_body)};
            counters_.duplicate_events.fetch_add(result.duplicates, std::memory_order_relaxed);
            SPDLOG_DEBUG("[http] {} repeated events answered and not dispatched again",
                         result.duplicates);
            return http_answer{200,
                               fmt::format(R"({{"ok":true,"duplicates":{}}})", result.duplicates)};
        }
        case intake_result::status::full: {
            // NOTE: nothing is kept of the body: the client was told to send it again.
            counters_.requests_deferred.fetch_add(1, std::memory_order_relaxed);
            full_errors_.report(
                "the spool is full: callbacks are answered 503 until the sinks "
                "catch up (see [spool] max_bytes)");
            http_answer answer{503, error_body("spool_full", "the spool is full, retry later")};
            answer.retry_after = retry_after_;
            return answer;
        }
        case intake_result::status::failed:
            break;
    }
    counters_.requests_deferred.fetch_add(1, std::memory_order_relaxed);
    spool_errors_.report("cannot keep a callback, answered 500: " + result.error);
    return http_answer{500, error_body("spool_failed", "the event could not be stored, retry")};
}

http_answer callback_handler::refuse_unreadable(unsigned status, std::string_view code,
                                                std::string_view detail, std::string_view peer,
                                                std::string_view partial_body,
                                                std::string_view content_encoding) {
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
    return http_answer{status, error_body(code, detail)};
}

}  // namespace seshook
