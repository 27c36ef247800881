#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/system/result.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace seshook {

/// Why a request body could not be decoded; `to_string` gives the code answered.
enum class body_decoding_error {
    unsupported_encoding,  // a Content-Encoding other than identity, gzip or x-gzip, or several
    too_large,             // gzip that inflates past the body limit
    invalid_gzip,          // not whole, valid gzip data
};

/// Returns the error code answered to the client: "unsupported_encoding", "body_too_large" or
/// "invalid_gzip".
std::string_view to_string(body_decoding_error error) noexcept;

/// Returns the HTTP status answered for the error: 415, 413 or 400.
unsigned http_status(body_decoding_error error) noexcept;

/// A body that could not be decoded, and a sentence saying why.
struct body_decoding_failure {
    body_decoding_error error;
    std::string detail;
};

/// Returns the Content-Encoding of a request, its fields joined with ", " when it has several;
/// "" when it has none.
std::string content_encoding_of(const boost::beast::http::fields& fields);

/// Decodes `body` in place as its Content-Encoding `content_encoding` says: absent, empty or
/// "identity" leave it as it is; "gzip" and "x-gzip" (in any case) inflate it to at most
/// `max_bytes`. Returns why it could not, leaving `body` as it came.
std::optional<body_decoding_failure> decode_body(std::string_view content_encoding,
                                                 std::string& body, std::size_t max_bytes);

/// Inflates gzip data (one or more members, RFC 1952) to at most `max_bytes`, stopping as soon
/// as the output would pass them, so that a small body that expands without end costs no more
/// memory than the limit.
boost::system::result<std::string, body_decoding_failure> inflate_gzip(std::string_view compressed,
                                                                       std::size_t max_bytes);

/// Lets boost::system::result::value() throw when it holds a failure.
[[noreturn]] void throw_exception_from_error(const body_decoding_failure& failure,
                                             const boost::source_location& location);

}  // namespace seshook
