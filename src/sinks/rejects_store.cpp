#include "seshook/sinks/rejects_store.hpp"

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "seshook/event/json_text.hpp"
#include "seshook/support/base64.hpp"
#include "seshook/support/time_format.hpp"

namespace seshook {
namespace {

// Builds the line; with `as_text` the body is kept verbatim, otherwise base64-encoded.
std::string make_line(std::string_view reason, std::string_view detail, std::string_view peer,
                      std::string_view body, std::string_view content_encoding, bool as_text) {
    // NOTE: ordered_json keeps the keys in the documented order, for an operator reading it.
    nlohmann::ordered_json line;
    line["time"] = format_rfc3339_ms(std::chrono::system_clock::now());
    line["peer"] = peer;
    line["reason"] = reason;
    line["detail"] = detail;
    if (!content_encoding.empty()) line["contentEncoding"] = content_encoding;
    if (as_text) {
        line["body"] = body;
    } else {
        line["bodyBase64"] = encode_base64(body);
    }

    // The body was checked, but detail and peer are ours to keep readable: replace, never throw.
    return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

rejects_store::rejects_store(std::filesystem::path path) : appender_(std::move(path), "rejects") {}

void rejects_store::start() { appender_.start(); }

void rejects_store::keep(std::string_view reason, std::string_view detail, std::string_view peer,
                         std::string_view body, std::string_view content_encoding) {
    // NOTE: a body that could not be decoded (gzip that is broken or inflates past the limit, a
    // coding seshook does not take) is kept as the bytes that came, always in base64, so that
    // `base64 -d | gunzip` gives it back whatever bytes it holds; "contentEncoding" says how they
    // are encoded. A body that was decoded is kept decoded, as validation saw it.
    const bool as_text = content_encoding.empty() && is_valid_utf8(body);
    appender_.append(make_line(reason, detail, peer, body, content_encoding, as_text));
}

void rejects_store::reopen() { appender_.reopen(); }

void rejects_store::stop() { appender_.stop(); }

std::size_t rejects_store::kept() const { return appender_.written(); }

}  // namespace seshook
