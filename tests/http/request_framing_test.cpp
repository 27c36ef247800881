#include "http/request_framing.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <string>

namespace seshook {
namespace {

namespace http = boost::beast::http;

using state = head_scanner::state;

http::request_header<> post_with(std::initializer_list<std::pair<std::string, std::string>> fields,
                                 unsigned version = 11) {
    http::request_header<> head;
    head.method(http::verb::post);
    head.target("/callback");
    head.version(version);
    for (const auto& [name, value] : fields) head.insert(name, value);
    return head;
}

std::string refusal_of(const http::request_header<>& head, std::size_t max_fields = 100) {
    const auto refusal = check_request_head(head, max_fields);
    return refusal ? std::string(refusal->code) + ": " + refusal->detail : "";
}

TEST(HeadScanner, FindsTheEndOfAHeadArrivingByteByByte) {
    const std::string head = "POST /callback HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
    head_scanner scanner;
    std::size_t complete_at = 0;
    for (std::size_t n = 1; n <= head.size() && complete_at == 0; ++n) {
        const state s = scanner.scan(std::string_view(head).substr(0, n));
        ASSERT_NE(s, state::refused) << scanner.reason();
        if (s == state::complete) complete_at = n;
    }
    EXPECT_EQ(complete_at, head.size() - 2);

    // It keeps its answer, whatever follows, until it is reset.
    EXPECT_EQ(scanner.scan(head + "\n \r"), state::complete);
    scanner.reset();
    EXPECT_EQ(scanner.scan("GET / HTTP/1.1\r\n"), state::incomplete);
}

TEST(HeadScanner, RefusesLinesOtherParsersSplitDifferently) {
    for (const std::string& head : {
             std::string("POST / HTTP/1.1\r\nX-A: one\r\n two\r\n\r\n"),
             std::string("POST / HTTP/1.1\r\nX-A: one\r\n\ttwo\r\n\r\n"),
             std::string("POST / HTTP/1.1\r\n Host: x\r\n\r\n"),
             std::string("POST / HTTP/1.1\nHost: x\n\n"),
             std::string("POST / HTTP/1.1\r\nHost: x\n\r\n"),
             std::string("POST / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n"),
         }) {
        head_scanner scanner;
        EXPECT_EQ(scanner.scan(head), state::refused) << head;
        EXPECT_FALSE(scanner.reason().empty());
    }

    // Refused at once, without waiting for an end that may never come.
    head_scanner scanner;
    EXPECT_EQ(scanner.scan("POST / HTTP/1.1\n"), state::refused);
    EXPECT_EQ(scanner.reason(), "a line of the request head ends in a bare LF, not CRLF");
}

TEST(HeadScanner, WaitsForTheLfOfATrailingCr) {
    head_scanner scanner;
    EXPECT_EQ(scanner.scan("GET / HTTP/1.1\r"), state::incomplete);
    EXPECT_EQ(scanner.scan("GET / HTTP/1.1\r\n\r"), state::incomplete);
    EXPECT_EQ(scanner.scan("GET / HTTP/1.1\r\n\r\n"), state::complete);
}

TEST(RequestHead, TakesOrdinaryFraming) {
    EXPECT_EQ(refusal_of(post_with({{"Content-Length", "12"}})), "");
    EXPECT_EQ(refusal_of(post_with({{"Transfer-Encoding", "chunked"}})), "");
    EXPECT_EQ(refusal_of(post_with({{"Transfer-Encoding", "CHUNKED"}})), "");
    EXPECT_EQ(refusal_of(post_with({})), "");
    EXPECT_EQ(refusal_of(post_with({{"Content-Length", "2"}}, 10)), "");
}

TEST(RequestHead, RefusesSeveralContentLengths) {
    EXPECT_EQ(refusal_of(post_with({{"Content-Length", "2"}, {"Content-Length", "2"}})),
              "malformed_request: the request has more than one Content-Length field");
    EXPECT_EQ(refusal_of(post_with({{"Content-Length", "2, 2"}})),
              "malformed_request: Content-Length must be one number, not a list");
}

TEST(RequestHead, RefusesTransferEncodingThatIsNotChunkedAlone) {
    for (const std::string coding : {"gzip", "chunked, gzip", "gzip, chunked", "chunked, chunked",
                                     "identity", "", "chunked;q=1"}) {
        EXPECT_EQ(refusal_of(post_with({{"Transfer-Encoding", coding}})),
                  "malformed_request: Transfer-Encoding must be \"chunked\" alone, not \"" +
                      coding + "\"")
            << coding;
    }
    EXPECT_EQ(
        refusal_of(post_with({{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}})),
        "malformed_request: the request has more than one Transfer-Encoding field");
    EXPECT_EQ(refusal_of(post_with({{"Transfer-Encoding", "chunked"}, {"Content-Length", "2"}})),
              "malformed_request: the request has both Content-Length and Transfer-Encoding");
    EXPECT_EQ(refusal_of(post_with({{"Transfer-Encoding", "chunked"}}, 10)),
              "malformed_request: Transfer-Encoding is not allowed in an HTTP/1.0 request");
}

TEST(RequestHead, RefusesMoreFieldsThanTheLimit) {
    const auto head = post_with({{"Host", "x"}, {"Content-Length", "2"}, {"X-A", "1"}});
    EXPECT_EQ(refusal_of(head, 3), "");
    const auto refusal = check_request_head(head, 2);
    ASSERT_TRUE(refusal);
    EXPECT_EQ(refusal->status, 431u);
    EXPECT_EQ(refusal->code, "header_too_large");
    EXPECT_EQ(refusal->detail, "request head has more than 2 header fields (max_header_fields)");
}

TEST(RequestTrailer, RefusesFieldsAddedAfterTheHead) {
    auto request = post_with({{"Transfer-Encoding", "chunked"}});
    const std::size_t head_fields = field_count(request);
    EXPECT_FALSE(check_request_trailer(request, head_fields));
    request.insert("X-Forwarded-For", "10.0.0.1");
    const auto refusal = check_request_trailer(request, head_fields);
    ASSERT_TRUE(refusal);
    EXPECT_EQ(refusal->status, 400u);
    EXPECT_EQ(refusal->code, "malformed_request");
}

TEST(ChunkExtensionGuard, FailsOnlyChunksWithExtensions) {
    chunk_extension_guard guard;
    boost::beast::error_code ec;
    guard(5, "", ec);
    EXPECT_FALSE(ec);
    guard(5, ";a=b", ec);
    EXPECT_EQ(ec, http::error::bad_chunk_extension);
}

TEST(StartsWithChunkExtension, SeesAnExtensionAfterTheChunkSize) {
    EXPECT_TRUE(starts_with_chunk_extension("3ff;a=\"open"));
    EXPECT_TRUE(starts_with_chunk_extension("\r\nC8 ;a=b"));
    EXPECT_TRUE(starts_with_chunk_extension("10\t;x"));
}

TEST(StartsWithChunkExtension, IgnoresChunksWithoutOne) {
    EXPECT_FALSE(starts_with_chunk_extension("3ff\r\n"));
    EXPECT_FALSE(starts_with_chunk_extension("\r\n3ff\r\nabc"));
    EXPECT_FALSE(starts_with_chunk_extension("3ff"));
    EXPECT_FALSE(starts_with_chunk_extension(";a=b"));
    EXPECT_FALSE(starts_with_chunk_extension(""));
    EXPECT_FALSE(starts_with_chunk_extension("{\"event\":\"open\"}"));
}

}  // namespace
}  // namespace seshook
