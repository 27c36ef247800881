// libFuzzer target: raw bytes as a client would send them on one connection, read the way
// src/http/session.cpp reads them (the head scanner, then a Beast request parser with the
// server's default limits and the chunk extension guard, the head, body size and trailer checks,
// the body decoded as its Content-Encoding says; one request after the other, pipelined bytes
// kept in the same capped buffer), and each complete request's body validated and turned into
// records as the callback handler and the sinks do. The bytes are read twice, whole and in small
// pieces, and must give the same requests and the same answer at the end: how TCP happens to
// segment a request must never change what is read from it.

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/system_error.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "body_checks.hpp"
#include "http/body_decoding.hpp"
#include "http/request_framing.hpp"
#include "seshook/config/config.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// NOTE: serve() and these constants mirror src/http/session.cpp (do_wait_for_request to
// on_read_body); keep them in step with it.
constexpr std::size_t first_read_size = 4096;
constexpr std::size_t buffer_slack = 8192;

// A connection's bytes as a synchronous stream: each read hands out at most `piece` bytes, as
// TCP segments would, and the end of the bytes is the client closing the connection.
class byte_stream {
public:
    byte_stream(std::string_view bytes, std::size_t piece) : rest_(bytes), piece_(piece) {}

    template <class MutableBufferSequence>
    std::size_t read_some(const MutableBufferSequence& buffers, beast::error_code& ec) {
        if (rest_.empty()) {
            ec = net::error::eof;
            return 0;
        }
        ec = {};
        const std::size_t n = net::buffer_copy(
            buffers, net::const_buffer(rest_.data(), std::min(rest_.size(), piece_)));
        rest_.remove_prefix(n);
        return n;
    }

    template <class MutableBufferSequence>
    std::size_t read_some(const MutableBufferSequence& buffers) {
        beast::error_code ec;
        const std::size_t n = read_some(buffers, ec);
        if (ec) throw boost::system::system_error(ec);
        return n;
    }

private:
    std::string_view rest_;
    std::size_t piece_;
};

// How the session ends a connection, by the answer it gives (or not) to the last request.
enum class ending {
    peer_closed,   // between requests or mid-request: no answer
    not_kept,      // the answered request did not ask to keep the connection
    too_large,     // 413
    head_too_big,  // 431
    malformed,     // 400
    unsupported,   // 415
    read_failed,   // any other error: closed without an answer
};

struct served_request {
    http::verb method;
    std::string target;
    std::string body;
    bool operator==(const served_request&) const = default;
};

struct connection {
    std::vector<served_request> requests;
    ending end = ending::peer_closed;
};

const char* to_string(ending end) {
    switch (end) {
        case ending::peer_closed:
            return "peer closed";
        case ending::not_kept:
            return "not kept alive";
        case ending::too_large:
            return "413";
        case ending::head_too_big:
            return "431";
        case ending::malformed:
            return "400";
        case ending::unsupported:
            return "415";
        case ending::read_failed:
            return "read failed";
    }
    return "?";
}

// Prints what was read from a connection, for the report of a broken invariant.
void print(const char* title, const connection& served) {
    std::fprintf(stderr, "%s: %zu requests, then %s\n", title, served.requests.size(),
                 to_string(served.end));
    for (const served_request& request : served.requests) {
        std::fprintf(stderr, "  %s %s, body of %zu bytes\n",
                     std::string(http::to_string(request.method)).c_str(), request.target.c_str(),
                     request.body.size());
    }
}

// True when two readings of one connection gave the same requests and the same answer at the
// end, but for one case: Beast reads an HTTP version 8 bytes at a time, so a whole head whose
// request line ends in a broken version of 3 bytes or less ("1", "HTT") has it wait for more when
// the head came alone, and answer 400 at once when more came with it. The request is refused
// either way, or the connection times out; nothing is read differently.
bool same_reading(const connection& a, const connection& b) {
    if (a.requests != b.requests) return false;
    const auto refused_or_waiting = [](ending end) {
        return end == ending::malformed || end == ending::peer_closed;
    };
    return a.end == b.end || (refused_or_waiting(a.end) && refused_or_waiting(b.end));
}

// Maps a read error to the session's way of ending the connection (session::on_read_failed).
ending ending_of(const beast::error_code& ec) {
    if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
        ec == net::error::eof) {
        return ending::peer_closed;
    }
    if (ec == http::error::body_limit) return ending::too_large;
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
        return ending::head_too_big;
    }
    if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
        return ending::malformed;
    }
    return ending::read_failed;
}

// Maps a refusal's status (session::do_refuse, a failed decode) to the end of the connection.
ending ending_of(unsigned status) {
    switch (status) {
        case 413:
            return ending::too_large;
        case 415:
            return ending::unsupported;
        case 431:
            return ending::head_too_big;
        default:
            seshook::fuzz::require(status == 400, "a refusal is 400, 413, 415 or 431");
            return ending::malformed;
    }
}

// Reads every request of one connection the way a session does; returns how it ended.
connection serve(std::string_view bytes, std::size_t piece) {
    const seshook::server_config defaults;
    byte_stream stream(bytes, piece);
    beast::flat_buffer buffer(defaults.max_header_bytes + buffer_slack);
    seshook::head_scanner scanner;
    connection served;
    const auto end = [&served](ending how) {
        served.end = how;
        return served;
    };
    for (;;) {
        // Wait for the first bytes of the next request, unless pipelined ones are buffered.
        beast::error_code ec;
        if (buffer.size() == 0) {
            buffer.commit(stream.read_some(buffer.prepare(first_read_size), ec));
            if (ec) return served;
        }

        // A fresh parser for each request, with the server's limits and the chunk guard.
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(defaults.max_header_bytes));
        parser.body_limit(boost::none);
        seshook::chunk_extension_guard guard;
        parser.on_chunk_header(guard);

        // The head, whole and through the scanner, before Beast parses it.
        scanner.reset();
        for (;;) {
            const std::string_view buffered(static_cast<const char*>(buffer.data().data()),
                                            std::min(buffer.size(), defaults.max_header_bytes));
            const auto state = scanner.scan(buffered);
            if (state == seshook::head_scanner::state::complete) break;
            if (state == seshook::head_scanner::state::refused) return end(ending::malformed);
            if (buffer.size() >= defaults.max_header_bytes) return end(ending::head_too_big);
            buffer.commit(stream.read_some(buffer.prepare(first_read_size), ec));
            if (ec) return end(ending_of(ec));
        }
        http::read_header(stream, buffer, parser, ec);
        if (ec) return end(ending_of(ec));
        if (auto refusal = seshook::check_request_head(parser.get(), defaults.max_header_fields)) {
            return end(ending_of(refusal->status));
        }
        const std::size_t head_fields = seshook::field_count(parser.get());

        // NOTE: the session screens the head here (the client's address, the secret); every
        // request is taken as one from a sender that may post to the callback.

        // An announced body over the limit is refused before it is read; then the limit holds.
        if (const auto length = parser.content_length();
            length && *length > defaults.max_body_bytes) {
            return end(ending::too_large);
        }
        parser.body_limit(defaults.max_body_bytes);

        // The body, then the trailer check; a chunk extension that ran out the body limit is
        // the malformed chunk it is, as in session::on_read_failed.
        http::read(stream, buffer, parser, ec);
        if (ec == http::error::body_limit &&
            seshook::starts_with_chunk_extension(
                {static_cast<const char*>(buffer.data().data()), buffer.size()})) {
            ec = http::error::bad_chunk_extension;
        }
        if (ec) return end(ending_of(ec));
        if (auto refusal = seshook::check_request_trailer(parser.get(), head_fields)) {
            return end(ending_of(refusal->status));
        }

        // The body as its Content-Encoding says: what the callback handler gets.
        auto request = parser.release();
        const bool keep_alive = request.keep_alive();
        const std::string encoding = seshook::content_encoding_of(request);
        if (auto failure =
                seshook::decode_body(encoding, request.body(), defaults.max_body_bytes)) {
            return end(ending_of(seshook::http_status(failure->error)));
        }
        seshook::fuzz::require(request.body().size() <= defaults.max_body_bytes,
                               "a body, decoded, is never larger than max_body_bytes");
        served.requests.push_back(
            {request.method(), std::string(request.target()), std::move(request.body())});
        if (!keep_alive) return end(ending::not_kept);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);

    // Frame the requests from all bytes at once, then from pieces of 1 to 29 bytes.
    const connection whole = serve(bytes, bytes.size() + 1);
    const connection pieces = serve(bytes, 1 + size % 29);
    if (!same_reading(whole, pieces)) {
        print("read whole", whole);
        print("read in pieces", pieces);
        seshook::fuzz::require(false, "the requests read do not depend on how bytes are segmented");
    }

    // Validate every complete request's body and build its records.
    for (const served_request& request : whole.requests) {
        seshook::fuzz::check_callback_body(request.body);
    }
    return 0;
}
