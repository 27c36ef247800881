#include "http/request_framing.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <iterator>
#include <utility>

#include "seshook/support/printable.hpp"

namespace seshook {

namespace http = boost::beast::http;

namespace {

// A header value quoted in a refusal is cut at this length.
constexpr std::size_t max_quoted_value = 60;

request_refusal malformed(std::string detail) {
    return {400, "malformed_request", std::move(detail)};
}

std::string_view trim_whitespace(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

std::string quoted(std::string_view value) {
    return "\"" + printable(value, max_quoted_value) + "\"";
}

}  // namespace

head_scanner::state head_scanner::scan(std::string_view bytes) {
    while (state_ == state::incomplete && scanned_ < bytes.size()) {
        const char c = bytes[scanned_];

        // NOTE: an LF that follows a CR is taken with it below, so any LF seen here is bare.
        if (c == '\n') return refuse("a line of the request head ends in a bare LF, not CRLF");
        if (c == '\r') {
            if (scanned_ + 1 == bytes.size()) break;  // its LF has not arrived yet
            if (bytes[scanned_ + 1] != '\n') {
                return refuse("the request head holds a CR that is not followed by LF");
            }
            scanned_ += 2;

            // An empty line ends the head.
            if (line_start_) state_ = state::complete;
            line_start_ = true;
            continue;
        }

        // A line that starts with whitespace continues the previous field (obs-fold), or,
        // right after the request line, is a field some parsers skip and others read.
        if (line_start_ && (c == ' ' || c == '\t')) {
            return refuse("a header line starts with whitespace (obsolete line folding)");
        }
        line_start_ = false;
        ++scanned_;
    }
    return state_;
}

void head_scanner::reset() { *this = head_scanner(); }

head_scanner::state head_scanner::refuse(std::string reason) {
    reason_ = std::move(reason);
    state_ = state::refused;
    return state_;
}

std::size_t field_count(const http::request_header<>& head) {
    return static_cast<std::size_t>(std::distance(head.begin(), head.end()));
}

std::optional<request_refusal> check_request_head(const http::request_header<>& head,
                                                  std::size_t max_fields) {
    if (field_count(head) > max_fields) {
        return request_refusal{431, "header_too_large",
                               "request head has more than " + std::to_string(max_fields) +
                                   " header fields (max_header_fields)"};
    }

    // NOTE: Beast takes several Content-Length fields, or a list in one ("5, 5"), when all the
    // values agree, as RFC 9112 section 6.3 allows. No client has a reason to send that, and a
    // proxy in front may pick one value where Beast takes another, so refusing is the safe
    // choice.
    const std::size_t lengths = head.count(http::field::content_length);
    if (lengths > 1) return malformed("the request has more than one Content-Length field");
    if (lengths == 1 && head[http::field::content_length].find(',') != std::string_view::npos) {
        return malformed("Content-Length must be one number, not a list");
    }

    // Transfer-Encoding: "chunked" alone, once, on HTTP/1.1, without Content-Length. Beast
    // ignores a Transfer-Encoding whose last coding is not chunked and then reads the body by
    // Content-Length, or as empty, where a proxy may read it chunked (RFC 9112 section 6.1).
    const std::size_t codings = head.count(http::field::transfer_encoding);
    if (codings == 0) return std::nullopt;
    if (head.version() < 11) {
        return malformed("Transfer-Encoding is not allowed in an HTTP/1.0 request");
    }
    if (lengths > 0) {
        return malformed("the request has both Content-Length and Transfer-Encoding");
    }
    if (codings > 1) return malformed("the request has more than one Transfer-Encoding field");
    const std::string_view coding = trim_whitespace(head[http::field::transfer_encoding]);
    if (!boost::beast::iequals(coding, "chunked")) {
        return malformed("Transfer-Encoding must be \"chunked\" alone, not " + quoted(coding));
    }
    return std::nullopt;
}

std::optional<request_refusal> check_request_trailer(const http::request_header<>& request,
                                                     std::size_t head_fields) {
    // NOTE: Beast adds trailer fields to the head's, where they would pass for fields the head
    // checks never saw (an Authorization, an X-Forwarded-For, a Content-Encoding). No callback
    // sender needs trailers, so a request that has some is refused rather than half-believed.
    if (field_count(request) == head_fields) return std::nullopt;
    return malformed("trailer fields after a chunked body are not accepted");
}

void chunk_extension_guard::operator()(std::uint64_t /*size*/, boost::beast::string_view extensions,
                                       boost::beast::error_code& ec) const {
    // NOTE: chunk extensions carry nothing a callback needs, and parsers disagree on their
    // quoting and line endings, which has been used to hide requests; so none is taken.
    if (!extensions.empty()) ec = http::error::bad_chunk_extension;
}

bool starts_with_chunk_extension(std::string_view unparsed) {
    // NOTE: Beast (1.81) takes a chunk's size off the body limit before it reads the chunk's
    // extension, and does so again at each new read while the extension is unfinished (a
    // quoted string left open). An extension sent in small pieces thus runs out the limit and
    // the read fails with `body_limit` before the guard above sees it; the chunk is a malformed
    // one all the same. What the parser has not taken is that chunk's header: the CRLF that
    // ended the chunk before it, if any, then the size in hex, then the extension.
    if (unparsed.substr(0, 2) == "\r\n") unparsed.remove_prefix(2);
    const auto size_end = unparsed.find_first_not_of("0123456789abcdefABCDEF");
    if (size_end == 0 || size_end == std::string_view::npos) return false;
    const char after_size = unparsed[size_end];
    return after_size == ';' || after_size == ' ' || after_size == '\t';
}

}  // namespace seshook
