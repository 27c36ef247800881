#include "http/body_decoding.hpp"

#include <gtest/gtest.h>

#include <string>

#include "support/gzip.hpp"

namespace seshook {
namespace {

using testing::gzip;

const std::string event = R"({"event":"delivered","email":"a@example.com"})";

TEST(BodyDecoding, LeavesAnIdentityBodyAsItIs) {
    for (const std::string coding : {"", "identity", "IDENTITY", " identity ", " , "}) {
        std::string body = event;
        EXPECT_FALSE(decode_body(coding, body, 1024)) << coding;
        EXPECT_EQ(body, event) << coding;
    }
}

TEST(BodyDecoding, InflatesGzipInPlace) {
    for (const std::string coding : {"gzip", "x-gzip", "GZIP", "X-Gzip", "\tgzip "}) {
        std::string body = gzip(event);
        EXPECT_FALSE(decode_body(coding, body, 1024)) << coding;
        EXPECT_EQ(body, event) << coding;
    }
}

TEST(BodyDecoding, InflatesEveryMember) {
    const auto inflated = inflate_gzip(gzip("[1,") + gzip("2]"), 1024);
    ASSERT_TRUE(inflated);
    EXPECT_EQ(*inflated, "[1,2]");
}

TEST(BodyDecoding, RefusesOtherAndSeveralCodingsLeavingTheBody) {
    for (const std::string coding :
         {"deflate", "br", "zstd", "compress", "gzip, gzip", "identity, gzip", "gzip;q=1"}) {
        std::string body = event;
        const auto failure = decode_body(coding, body, 1024);
        ASSERT_TRUE(failure) << coding;
        EXPECT_EQ(failure->error, body_decoding_error::unsupported_encoding) << coding;
        EXPECT_EQ(to_string(failure->error), "unsupported_encoding");
        EXPECT_EQ(http_status(failure->error), 415u);
        EXPECT_NE(failure->detail.find(coding), std::string::npos) << failure->detail;
        EXPECT_EQ(body, event) << coding;
    }
}

TEST(BodyDecoding, StopsAtTheLimitAndSaysSo) {
    // 10 MB of zeros compress to about 10 KB; the inflate must give up after 64 KiB.
    const std::string bomb = gzip(std::string(10'000'000, '\0'));
    std::string body = bomb;
    const auto failure = decode_body("gzip", body, 65536);
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->error, body_decoding_error::too_large);
    EXPECT_EQ(to_string(failure->error), "body_too_large");
    EXPECT_EQ(http_status(failure->error), 413u);
    EXPECT_EQ(failure->detail, "gzip body inflates to more than 65536 bytes (max_body_bytes)");
    EXPECT_EQ(body, bomb);
}

TEST(BodyDecoding, TakesABodyThatInflatesToTheLimitExactly) {
    const std::string exact(65536, 'x');
    const auto inflated = inflate_gzip(gzip(exact), exact.size());
    ASSERT_TRUE(inflated);
    EXPECT_EQ(*inflated, exact);
    EXPECT_FALSE(inflate_gzip(gzip(exact), exact.size() - 1));
}

TEST(BodyDecoding, RefusesBrokenGzipWithAReason) {
    const std::string whole = gzip(event);
    std::string flipped = whole;
    flipped[flipped.size() - 5] = static_cast<char>(flipped[flipped.size() - 5] ^ 0x01);
    const std::string zlib_wrapped("\x78\x9c\x03\x00\x00\x00\x00\x01", 8);
    for (const std::string& bad : {std::string(), std::string("not gzip"), whole.substr(0, 10),
                                   whole.substr(0, whole.size() - 1), flipped, whole + "x",
                                   whole + std::string(8, '\0'), zlib_wrapped}) {
        const auto inflated = inflate_gzip(bad, 1024);
        ASSERT_FALSE(inflated) << bad.size();
        EXPECT_EQ(inflated.error().error, body_decoding_error::invalid_gzip);
        EXPECT_EQ(to_string(inflated.error().error), "invalid_gzip");
        EXPECT_EQ(http_status(inflated.error().error), 400u);
        EXPECT_FALSE(inflated.error().detail.empty());
    }
    EXPECT_EQ(inflate_gzip(whole.substr(0, whole.size() - 1), 1024).error().detail,
              "gzip data ends before its end");
}

TEST(BodyDecoding, JoinsSeveralContentEncodingFields) {
    boost::beast::http::fields fields;
    EXPECT_EQ(content_encoding_of(fields), "");
    fields.insert(boost::beast::http::field::content_encoding, "gzip");
    fields.insert(boost::beast::http::field::content_type, "application/json");
    fields.insert("content-encoding", "br");
    EXPECT_EQ(content_encoding_of(fields), "gzip, br");
}

}  // namespace
}  // namespace seshook
