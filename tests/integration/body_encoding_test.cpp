// End to end: bodies sent with a Content-Encoding. gzip is inflated, with a cap on what it
// inflates to; anything else is refused; what is refused is kept as it was sent.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "integration/integration_helpers.hpp"
#include "support/base64.hpp"
#include "support/gzip.hpp"

namespace seshook::testing {
namespace {

using namespace std::chrono_literals;
using BodyEncoding = daemon_test;

std::string encoded_post(std::string_view coding, std::string_view body) {
    return make_post("/callback", body, "Content-Encoding: " + std::string(coding) + "\r\n");
}

// Returns the bytes a rejects line kept, from its bodyBase64.
std::string kept_bytes(const nlohmann::json& line) {
    return decode_base64(line.value("bodyBase64", ""));
}

TEST_F(BodyEncoding, GzipBodyIsInflatedBeforeValidation) {
    auto& daemon = start_daemon();
    raw_connection connection(daemon.port());
    const std::vector<std::string> codings{"gzip", "x-gzip", "GZip", " gzip "};
    for (std::size_t i = 0; i < codings.size(); ++i) {
        connection.send(encoded_post(codings[i], gzip(sample_event(i))));
        const auto response = connection.read_response();
        EXPECT_EQ(response.status, 200u) << codings[i] << ": " << response.body;
    }

    // The records hold the inflated events, as if they had been sent plainly.
    const auto events = wait_for_json_lines(daemon.events_path(), codings.size(), 5s);
    ASSERT_EQ(events.size(), codings.size());
    for (std::size_t i = 0; i < codings.size(); ++i) {
        EXPECT_EQ(events[i].at("payload"), nlohmann::json::parse(sample_event(i)));
    }
}

TEST_F(BodyEncoding, IdentityAndAnEmptyCodingPassThrough) {
    auto& daemon = start_daemon();
    EXPECT_EQ(send_once(daemon.port(), encoded_post("identity", sample_event(1))).status, 200u);
    EXPECT_EQ(send_once(daemon.port(), encoded_post("", sample_event(2))).status, 200u);
    EXPECT_EQ(wait_for_json_lines(daemon.events_path(), 2, 5s).size(), 2u);
}

TEST_F(BodyEncoding, GzipChunkedAndSplitInTwoMembersIsInflated) {
    auto& daemon = start_daemon();
    const std::string body = sample_event(1);
    const std::string compressed =
        gzip(body.substr(0, body.size() / 2)) + gzip(body.substr(body.size() / 2));
    char size_line[32];
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", compressed.size());
    const auto response = send_once(
        daemon.port(),
        "POST /callback HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nTransfer-Encoding: "
        "chunked\r\n\r\n" +
            std::string(size_line) + compressed + "\r\n0\r\n\r\n");
    EXPECT_EQ(response.status, 200u) << response.body;
    const auto events = wait_for_json_lines(daemon.events_path(), 1, 5s);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].at("payload"), nlohmann::json::parse(body));
}

TEST_F(BodyEncoding, GzipThatInflatesPastTheBodyLimitIs413AndIsKeptCompressed) {
    auto& daemon = start_daemon(with_server("max_body_bytes = 65536"));

    // 32 MiB of spaces around an event compress to about 32 KiB, under the limit.
    const std::string body = "[" + std::string(32 * 1024 * 1024, ' ') + sample_event(1) + "]";
    const std::string compressed = gzip(body);
    ASSERT_LT(compressed.size(), 65536u);
    raw_connection connection(daemon.port());
    connection.send(encoded_post("gzip", compressed));
    const auto response = connection.read_response();
    EXPECT_EQ(response.status, 413u);
    EXPECT_EQ(json_body(response).value("error", ""), "body_too_large") << response.body;
    EXPECT_NE(json_body(response).value("detail", "").find("inflate"), std::string::npos)
        << response.body;

    // The rejects file holds the bytes as they came, base64, saying how they are encoded.
    const auto rejects = wait_for_json_lines(daemon.rejects_path(), 1, 5s);
    ASSERT_EQ(rejects.size(), 1u);
    EXPECT_EQ(rejects[0].value("reason", ""), "body_too_large");
    EXPECT_EQ(rejects[0].value("contentEncoding", ""), "gzip");
    EXPECT_FALSE(rejects[0].contains("body"));
    EXPECT_EQ(kept_bytes(rejects[0]), compressed);
    EXPECT_TRUE(read_json_lines(daemon.events_path()).empty());

    // A body that inflates to the limit exactly still passes.
    const std::string event = sample_event(2);
    const std::string at_limit = "[" + std::string(65536 - event.size() - 2, ' ') + event + "]";
    ASSERT_EQ(at_limit.size(), 65536u);
    const auto fits = send_once(daemon.port(), encoded_post("gzip", gzip(at_limit)));
    EXPECT_EQ(fits.status, 200u) << fits.body;
}

TEST_F(BodyEncoding, BrokenGzipIs400WithAReason) {
    auto& daemon = start_daemon();
    const std::string whole = gzip(sample_event(1));
    std::string corrupt = whole;
    corrupt[corrupt.size() / 2] = static_cast<char>(corrupt[corrupt.size() / 2] ^ 0x55);
    const std::vector<std::pair<std::string, std::string>> bodies{
        {"plain text", sample_event(1)},
        {"cut short", whole.substr(0, whole.size() - 6)},
        {"flipped byte", corrupt},
        {"garbage after it", whole + "garbage"},
        {"empty", ""},
    };
    for (const auto& [name, body] : bodies) {
        SCOPED_TRACE(name);
        const auto response = send_once(daemon.port(), encoded_post("gzip", body));
        EXPECT_EQ(response.status, 400u) << response.body;
        const auto answer = json_body(response);
        EXPECT_EQ(answer.value("error", ""), "invalid_gzip") << response.body;
        EXPECT_FALSE(answer.value("detail", "").empty()) << response.body;
    }

    // Each is kept as it came.
    const auto rejects = wait_for_json_lines(daemon.rejects_path(), bodies.size(), 5s);
    ASSERT_EQ(rejects.size(), bodies.size());
    for (std::size_t i = 0; i < bodies.size(); ++i) {
        EXPECT_EQ(rejects[i].value("reason", ""), "invalid_gzip");
        EXPECT_EQ(rejects[i].value("contentEncoding", ""), "gzip");
        EXPECT_EQ(kept_bytes(rejects[i]), bodies[i].second) << bodies[i].first;
    }
    EXPECT_TRUE(read_json_lines(daemon.events_path()).empty());
}

TEST_F(BodyEncoding, OtherCodingsAre415) {
    auto& daemon = start_daemon();
    const std::vector<std::string> codings{
        "deflate", "br", "compress", "zstd", "gzip, gzip", "identity, gzip", "gzip;q=1"};
    for (const auto& coding : codings) {
        SCOPED_TRACE(coding);
        const auto response = send_once(daemon.port(), encoded_post(coding, sample_event(1)));
        EXPECT_EQ(response.status, 415u) << response.body;
        EXPECT_EQ(json_body(response).value("error", ""), "unsupported_encoding") << response.body;
    }

    // Two Content-Encoding fields are two codings.
    const auto twice =
        send_once(daemon.port(), make_post("/callback", gzip(gzip(sample_event(1))),
                                           "Content-Encoding: gzip\r\nContent-Encoding: gzip\r\n"));
    EXPECT_EQ(twice.status, 415u) << twice.body;

    // Kept as sent, with the coding named.
    const auto rejects = wait_for_json_lines(daemon.rejects_path(), codings.size() + 1, 5s);
    ASSERT_EQ(rejects.size(), codings.size() + 1);
    for (std::size_t i = 0; i < codings.size(); ++i) {
        EXPECT_EQ(rejects[i].value("reason", ""), "unsupported_encoding");
        EXPECT_EQ(rejects[i].value("contentEncoding", ""), codings[i]);
        EXPECT_EQ(kept_bytes(rejects[i]), sample_event(1));
    }
    EXPECT_TRUE(read_json_lines(daemon.events_path()).empty());
}

TEST_F(BodyEncoding, InflatedBodyThatIsNotAnEventIsKeptInflated) {
    auto& daemon = start_daemon();
    const std::string body = R"({"event":"delivered"})";
    const auto response = send_once(daemon.port(), encoded_post("gzip", gzip(body)));
    EXPECT_EQ(response.status, 400u);
    EXPECT_EQ(json_body(response).value("error", ""), "missing_field") << response.body;

    // What failed validation is the inflated JSON, so that is what is kept (and replayable).
    const auto rejects = wait_for_json_lines(daemon.rejects_path(), 1, 5s);
    ASSERT_EQ(rejects.size(), 1u);
    EXPECT_EQ(rejects[0].value("body", ""), body);
    EXPECT_FALSE(rejects[0].contains("contentEncoding"));
}

}  // namespace
}  // namespace seshook::testing
