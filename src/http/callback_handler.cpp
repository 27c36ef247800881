#include "seshook/http/callback_handler.hpp"

#include <chrono>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "seshook/event/record.hpp"
#include "seshook/support/printable.hpp"

namespace seshook {

namespace http = boost::beast::http;

namespace {

// Payload text quoted in log lines is cut at this length.
constexpr std::size_t max_logged_text = 200;

constexpr std::string_view health_path = "/healthz";
constexpr std::string_view ok_body = R"({"ok":true})";

std::string_view path_of(std::string_view target) {
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
                                   dispatcher& sinks, rejects_store& rejects)
    : callback_path_(server.callback_path), schema_(schema), sinks_(sinks), rejects_(rejects) {}

http_answer callback_handler::handle(http::verb method, std::string_view target,
                                     std::string_view body, std::string_view peer) {
    const std::string_view path = path_of(target);

    // The callback endpoint takes POST only.
    if (path == callback_path_) {
        if (method == http::verb::post) return accept_callback(body, peer);
        return http_answer{405, error_body("method_not_allowed", "use POST"), "POST", false};
    }

    // The health endpoint answers as long as the server runs.
    if (path == health_path) {
        if (method == http::verb::get || method == http::verb::head) {
            return http_answer{200, std::string(ok_body), "", false};
        }
        return http_answer{405, error_body("method_not_allowed", "use GET"), "GET, HEAD", false};
    }

    // NOTE: unknown paths are not kept in the rejects file: scanners probe every public
    // address, and their noise would bury the callbacks an operator needs to find.
    return http_answer{404, error_body("not_found", "no such path"), "", false};
}

http_answer callback_handler::accept_callback(std::string_view body, std::string_view peer) {
    // Validate the whole body; one bad element refuses the request, so Tencent's retry (or an
    // operator's replay) resends it whole and nothing is half-accepted.
    auto parsed = parse_callback(body, schema_.mode, schema_.limits);
    if (!parsed) {
        const schema_rejection& why = parsed.error();
        return reject(400, to_string(why.error), why.detail, peer, body);
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

    // Queue them for the sinks; this never blocks.
    sinks_.dispatch(records);
    counters_.requests_accepted.fetch_add(1, std::memory_order_relaxed);
    counters_.events_accepted.fetch_add(records.size(), std::memory_order_relaxed);
    return http_answer{200, std::string(ok_body), "", false};
}

http_answer callback_handler::refuse_unreadable(unsigned status, std::string_view code,
                                                std::string_view detail, std::string_view peer,
                                                std::string_view partial_body) {
    http_answer answer = reject(status, code, detail, peer, partial_body);
    answer.close = true;
    return answer;
}

http_answer callback_handler::reject(unsigned status, std::string_view code,
                                     std::string_view detail, std::string_view peer,
                                     std::string_view body) {
    // Keep the body for inspection and replay, then tell the client and the operator why.
    counters_.requests_rejected.fetch_add(1, std::memory_order_relaxed);
    rejects_.keep(code, detail, peer, body);
    spdlog::warn("[http] rejected callback from {}: {}: {}", peer, code, printable(detail, max_logged_text));
    return http_answer{status, error_body(code, detail), "", false};
}

}  // namespace seshook
