#include "seshook/sinks/webhook_signer.hpp"

#include <gtest/gtest.h>

#include <string>

namespace seshook {
namespace {

// The test vector of the Standard Webhooks reference library for Python:
// github.com/standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py,
// test_sign_function.
constexpr std::string_view spec_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view spec_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t spec_timestamp = 1614265330;
constexpr std::string_view spec_body = R"({"test": 2432232314})";
constexpr std::string_view spec_signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

webhook_signer signer_of(std::string_view secret) {
    auto signer = webhook_signer::from_secret(secret);
    EXPECT_TRUE(signer.has_value()) << secret;
    return signer.value();
}

boost::system::result<webhook_signer, signing_secret_error> parse(std::string_view secret) {
    return webhook_signer::from_secret(secret);
}

TEST(WebhookSigner, MatchesTheReferenceLibrarysTestVector) {
    EXPECT_EQ(signer_of(spec_secret).sign(spec_id, spec_timestamp, spec_body), spec_signature);
}

TEST(WebhookSigner, SignsTheIdTheTimestampAndTheBody) {
    const auto signer = signer_of(spec_secret);
    const auto reference = signer.sign(spec_id, spec_timestamp, spec_body);

    EXPECT_NE(signer.sign("msg_p5jXN8AQM9LWM0D4loKWxJel", spec_timestamp, spec_body), reference);
    EXPECT_NE(signer.sign(spec_id, spec_timestamp + 1, spec_body), reference);
    EXPECT_NE(signer.sign(spec_id, spec_timestamp, R"({"test": 2432232315})"), reference);
    EXPECT_NE(signer.sign(spec_id, spec_timestamp, R"({"test":2432232314})"), reference);
}

TEST(WebhookSigner, ReadsPaddedAndUnpaddedBase64Alike) {
    // 25 bytes: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGA==" with its padding.
    const auto padded = signer_of("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGA==");
    const auto unpadded = signer_of("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGA");
    EXPECT_EQ(padded.sign("id", 1, "{}"), unpadded.sign("id", 1, "{}"));
    EXPECT_NE(padded.sign("id", 1, "{}"), signer_of(spec_secret).sign("id", 1, "{}"));
}

TEST(WebhookSigner, RefusesASecretWithoutItsPrefix) {
    EXPECT_EQ(parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").error(),
              signing_secret_error::missing_prefix);
    EXPECT_EQ(parse("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").error(),
              signing_secret_error::missing_prefix);
    EXPECT_EQ(parse("").error(), signing_secret_error::missing_prefix);
}

TEST(WebhookSigner, RefusesWhatIsNotStandardBase64) {
    for (const char* secret : {
             "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS-",  // the URL-safe alphabet
             "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS_",
             "whsec_MfKQ9r8GKYqr TwjUPD8ILPZIo2LaLaSw",      // a space inside
             "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",     // a line break after
             "whsec_MfKQ9r8GKYqrTwjUPD8I=PZIo2LaLaSw",       // padding inside
             "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGA=",    // half the padding
             "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGB==",   // bits set past the last byte
             "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGAAAA",  // a dangling character
         }) {
        const auto signer = parse(secret);
        ASSERT_FALSE(signer) << secret;
        EXPECT_EQ(signer.error(), signing_secret_error::not_base64) << secret;
    }
}

TEST(WebhookSigner, RefusesKeysShorterThan24OrLongerThan64Bytes) {
    // 23, 24, 64 and 65 bytes of zeros.
    const auto zeros = [](std::size_t bytes) {
        std::string text((bytes + 2) / 3 * 4, 'A');
        if (bytes % 3 == 1) text.replace(text.size() - 2, 2, "==");
        if (bytes % 3 == 2) text.back() = '=';
        return "whsec_" + text;
    };
    EXPECT_EQ(parse(zeros(23)).error(), signing_secret_error::too_short);
    EXPECT_TRUE(parse(zeros(24)));
    EXPECT_TRUE(parse(zeros(64)));
    EXPECT_EQ(parse(zeros(65)).error(), signing_secret_error::too_long);
    EXPECT_EQ(parse("whsec_").error(), signing_secret_error::too_short);
}

TEST(WebhookSigner, ExplainsEveryErrorWithoutTheSecret) {
    for (const auto error : {signing_secret_error::missing_prefix, signing_secret_error::not_base64,
                             signing_secret_error::too_short, signing_secret_error::too_long}) {
        EXPECT_TRUE(to_string(error).starts_with("must ")) << to_string(error);
    }
    EXPECT_THROW(parse("nope").value(), std::invalid_argument);
}

}  // namespace
}  // namespace seshook
