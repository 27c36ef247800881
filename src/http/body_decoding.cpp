#include "http/body_decoding.hpp"

#include <zlib.h>

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "seshook/support/printable.hpp"

namespace seshook {

namespace {

// A coding named in a refusal is cut at this length.
constexpr std::size_t max_quoted_coding = 60;

// The first output buffer of an inflate, unless the limit is smaller.
constexpr std::size_t min_first_output = 16 * 1024;

body_decoding_failure invalid(std::string detail) {
    return {body_decoding_error::invalid_gzip, std::move(detail)};
}

body_decoding_failure unsupported(std::string detail) {
    return {body_decoding_error::unsupported_encoding,
            std::move(detail) + "; send gzip or identity"};
}

std::string quoted(std::string_view text) {
    return "\"" + printable(text, max_quoted_coding) + "\"";
}

// Returns the codings of a Content-Encoding list, without whitespace and empty elements.
std::vector<std::string_view> split_codings(std::string_view list) {
    std::vector<std::string_view> codings;
    while (!list.empty()) {
        const auto comma = list.find(',');
        std::string_view coding = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) {
            coding.remove_prefix(1);
        }
        while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) {
            coding.remove_suffix(1);
        }
        if (!coding.empty()) codings.push_back(coding);
    }
    return codings;
}

// Grows `out`, whose first `used` bytes hold output, to `size` bytes. A fresh string reserved to
// the exact size is filled instead of resizing in place, which would round the allocation up to
// twice the old one and so could pass the limit.
void grow(std::string& out, std::size_t used, std::size_t size) {
    std::string bigger;
    bigger.reserve(size);
    bigger.append(out, 0, used);
    bigger.resize(size);
    out = std::move(bigger);
}

// Ends a zlib stream however the inflate ends.
struct inflate_end_guard {
    z_stream& stream;
    ~inflate_end_guard() { inflateEnd(&stream); }
};

}  // namespace

std::string_view to_string(body_decoding_error error) noexcept {
    switch (error) {
        case body_decoding_error::unsupported_encoding:
            return "unsupported_encoding";
        case body_decoding_error::too_large:
            return "body_too_large";
        case body_decoding_error::invalid_gzip:
            return "invalid_gzip";
    }
    return "invalid_gzip";
}

unsigned http_status(body_decoding_error error) noexcept {
    switch (error) {
        case body_decoding_error::unsupported_encoding:
            return 415;
        case body_decoding_error::too_large:
            return 413;
        case body_decoding_error::invalid_gzip:
            return 400;
    }
    return 400;
}

std::string content_encoding_of(const boost::beast::http::fields& fields) {
    std::string joined;
    const auto [first, last] = fields.equal_range(boost::beast::http::field::content_encoding);
    for (auto field = first; field != last; ++field) {
        if (!joined.empty()) joined += ", ";
        joined += field->value();
    }
    return joined;
}

std::optional<body_decoding_failure> decode_body(std::string_view content_encoding,
                                                 std::string& body, std::size_t max_bytes) {
    // One coding at most: a body compressed twice is not worth a second decoder's risks.
    const auto codings = split_codings(content_encoding);
    if (codings.empty()) return std::nullopt;
    if (codings.size() > 1) {
        return unsupported("several content codings (" + quoted(content_encoding) +
                           ") are not supported");
    }

    // identity is the body itself; gzip (and its old name x-gzip) is inflated.
    const std::string_view coding = codings.front();
    if (boost::beast::iequals(coding, "identity")) return std::nullopt;
    if (boost::beast::iequals(coding, "gzip") || boost::beast::iequals(coding, "x-gzip")) {
        auto inflated = inflate_gzip(body, max_bytes);
        if (!inflated) return std::move(inflated.error());
        body = std::move(*inflated);
        return std::nullopt;
    }
    return unsupported("Content-Encoding " + quoted(coding) + " is not supported");
}

boost::system::result<std::string, body_decoding_failure> inflate_gzip(std::string_view compressed,
                                                                       std::size_t max_bytes) {
    // 16 + MAX_WBITS: the gzip wrapper only, not zlib's own nor raw deflate.
    z_stream stream{};
    if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) {
        return invalid("gzip data cannot be inflated: zlib did not start");
    }
    const inflate_end_guard end{stream};

    // NOTE: the output grows as it comes, to one byte past the limit at most: that byte tells a
    // body that inflates past the limit from one that fits it exactly.
    const std::size_t capacity = max_bytes + 1;
    std::string out;
    std::size_t used = 0;
    std::size_t fed = 0;
    for (;;) {
        // zlib counts in 32 bits, so the input goes in slices that it can count.
        if (stream.avail_in == 0 && fed < compressed.size()) {
            const std::size_t slice =
                std::min<std::size_t>(compressed.size() - fed, std::numeric_limits<uInt>::max());
            stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data() + fed));
            stream.avail_in = static_cast<uInt>(slice);
            fed += slice;
        }

        // Room for more output, never past the capacity.
        if (used == out.size()) {
            grow(out, used,
                 std::min(capacity,
                          std::max({out.size() * 2, compressed.size() * 4, min_first_output})));
        }
        stream.next_out = reinterpret_cast<Bytef*>(out.data() + used);
        stream.avail_out = static_cast<uInt>(
            std::min<std::size_t>(out.size() - used, std::numeric_limits<uInt>::max()));

        // Inflate what fits, and stop as soon as the output passes the limit.
        const uInt room = stream.avail_out;
        const int result = inflate(&stream, Z_NO_FLUSH);
        used += room - stream.avail_out;
        if (used > max_bytes) {
            return body_decoding_failure{body_decoding_error::too_large,
                                         "gzip body inflates to more than " +
                                             std::to_string(max_bytes) + " bytes (max_body_bytes)"};
        }

        // A member ends; another may follow (RFC 1952 allows several, as gunzip reads them).
        const bool input_left = stream.avail_in > 0 || fed < compressed.size();
        if (result == Z_STREAM_END) {
            if (!input_left) break;
            if (inflateReset(&stream) != Z_OK) return invalid("gzip data cannot be inflated");
            continue;
        }
        if (result == Z_OK) continue;
        if (result == Z_BUF_ERROR && !input_left) return invalid("gzip data ends before its end");
        return invalid(stream.msg != nullptr
                           ? "gzip data is invalid: " + std::string(stream.msg)
                           : "gzip data is invalid (zlib error " + std::to_string(result) + ")");
    }
    out.resize(used);
    return out;
}

void throw_exception_from_error(const body_decoding_failure& failure,
                                const boost::source_location& /*location*/) {
    throw std::runtime_error(failure.detail);
}

}  // namespace seshook
