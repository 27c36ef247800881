#pragma once

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/message.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace seshook {

// Where a request starts and ends must be read the same way by seshook and by every proxy or
// load balancer in front of it; where two parsers could disagree, a request could hide another
// one inside it (request smuggling). Boost.Beast's parser is sound but lenient in places, so
// these checks refuse what it would accept and others might read differently (RFC 9112
// sections 2.2, 5, 6 and 7).

/// A request refused before it reaches the callback handler: the answer's status, error code and
/// detail.
struct request_refusal {
    unsigned status;
    std::string_view code;  // "malformed_request" or "header_too_large"
    std::string detail;
};

/// Finds the end of a request head in the bytes as they arrive, and refuses on the way the line
/// forms that Beast would accept but other parsers split differently: a header line folded onto
/// the next (obs-fold), whitespace before the first field, a bare LF or a bare CR. Beast sees the
/// head only once this says it is complete.
class head_scanner {
public:
    enum class state { incomplete, complete, refused };

    /// Scans `bytes`, all that is buffered from the start of the head, resuming where the last
    /// call stopped; once complete or refused, keeps that answer.
    state scan(std::string_view bytes);

    /// Returns why the head was refused, in the state `refused`.
    const std::string& reason() const noexcept { return reason_; }

    /// Forgets the last head, for the next request.
    void reset();

private:
    state refuse(std::string reason);

    state state_ = state::incomplete;
    std::size_t scanned_ = 0;  // bytes looked at so far
    bool line_start_ = false;  // the byte at `scanned_` starts a line after a CRLF
    std::string reason_;
};

/// Checks a parsed request head for framing that cannot be trusted (Content-Length and
/// Transfer-Encoding together, several Content-Lengths, a Transfer-Encoding other than
/// "chunked" alone, Transfer-Encoding on HTTP/1.0) and for more than `max_fields` fields; returns
/// the refusal, or nothing when the body may be read.
std::optional<request_refusal> check_request_head(const boost::beast::http::request_header<>& head,
                                                  std::size_t max_fields);

/// Checks a request read whole, whose head had `head_fields` fields, for trailer fields after a
/// chunked body; returns the refusal, or nothing when it has none.
std::optional<request_refusal> check_request_trailer(
    const boost::beast::http::request_header<>& request, std::size_t head_fields);

/// Returns the number of fields of a request head (a field given twice counts twice).
std::size_t field_count(const boost::beast::http::request_header<>& head);

/// A chunk-header callback for Beast's parser (`parser.on_chunk_header(guard)`) that fails the
/// read with `bad_chunk_extension` when a chunk carries an extension.
struct chunk_extension_guard {
    void operator()(std::uint64_t size, boost::beast::string_view extensions,
                    boost::beast::error_code& ec) const;
};

/// True when `unparsed`, the bytes of a chunked body that Beast's parser has not taken yet,
/// begins with a chunk header that carries an extension: a read that failed there with
/// `body_limit` failed on the extension (see the definition).
bool starts_with_chunk_extension(std::string_view unparsed);

}  // namespace seshook
