#include "seshook/auth/secret_check.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace seshook {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view token_a = "k3J9-xQ2_vL8.tR5~wZ1";
constexpr std::string_view token_b = "Zm9vYmFyYmF6cXV4cXV1eA";

TEST(TokenProblem, AcceptsLongUnreservedTokens) {
    EXPECT_FALSE(token_problem(token_a).has_value());
    EXPECT_FALSE(token_problem(std::string(16, 'a')).has_value());
    EXPECT_FALSE(token_problem(std::string(200, '~')).has_value());
}

TEST(TokenProblem, RefusesShortTokensWithoutQuotingThem) {
    const auto problem = token_problem("s3cr3t-but-short");  // 16: fine
    EXPECT_FALSE(problem.has_value());
    const auto short_problem = token_problem("s3cr3t-but-shor");
    ASSERT_TRUE(short_problem.has_value());
    EXPECT_THAT(*short_problem, HasSubstr("at least 16 characters"));
    EXPECT_THAT(*short_problem, Not(HasSubstr("s3cr3t")));
    EXPECT_TRUE(token_problem("").has_value());
}

TEST(TokenProblem, RefusesCharactersThatAreNotUrlSafe) {
    for (const char* token : {"abcdefghijklmnop/", "abcdefghijklmnop?", "abcdefghijklmnop%41",
                              "abcdefgh ijklmnop", "abcdefghijklmnop+", "abcdefghijklmnop=",
                              "abcdefghijklmnop&", "abcdefghijklmnop#", "abcdefghijklmnöp"}) {
        const auto problem = token_problem(token);
        ASSERT_TRUE(problem.has_value()) << token;
        EXPECT_THAT(*problem, HasSubstr("letters, digits"));
        EXPECT_THAT(*problem, Not(HasSubstr("abcdefgh")));
    }
}

TEST(BasicUserProblem, WantsUserColonLongPassword) {
    EXPECT_FALSE(basic_user_problem("tencent:0123456789abcdef").has_value());
    EXPECT_FALSE(basic_user_problem("tencent:with:colons:0123456789").has_value());
    EXPECT_THAT(basic_user_problem("tencent").value_or(""), HasSubstr("user:password"));
    EXPECT_THAT(basic_user_problem(":0123456789abcdef").value_or(""), HasSubstr("empty user"));
    EXPECT_THAT(basic_user_problem("tencent:short").value_or(""), HasSubstr("16 characters"));
    EXPECT_THAT(basic_user_problem("tencent:0123456789abcde\n").value_or(""),
                HasSubstr("printable"));
    const std::string problem = basic_user_problem("tencent:p4ss").value_or("");
    EXPECT_THAT(problem, Not(HasSubstr("p4ss")));
    EXPECT_THAT(problem, Not(HasSubstr("tencent")));
}

TEST(BasicCredentials, DecodesTheBasicScheme) {
    // "tencent:0123456789abcdef"
    EXPECT_EQ(basic_credentials("Basic dGVuY2VudDowMTIzNDU2Nzg5YWJjZGVm").value_or("?"),
              "tencent:0123456789abcdef");
    EXPECT_EQ(basic_credentials("basic   dGVuY2VudDowMTIzNDU2Nzg5YWJjZGVm  ").value_or("?"),
              "tencent:0123456789abcdef");
    // Padding of one and two characters: "a:bc" and "a:b".
    EXPECT_EQ(basic_credentials("Basic YTpiYw==").value_or("?"), "a:bc");
    EXPECT_EQ(basic_credentials("BASIC YTpi").value_or("?"), "a:b");
    EXPECT_EQ(basic_credentials("Basic YTpiY2Q=").value_or("?"), "a:bcd");
}

TEST(BasicCredentials, RefusesOtherSchemesAndBadBase64) {
    for (const char* header :
         {"", "Basic", "Basic ", "Bearer dGVuY2VudDpwYXNz", "Basicx YTpi", "Basic YTpi!",
          "Basic YTp", "Basic Y===", "Basic =YTp", "Basic YT=i", "Digest username=\"a\""}) {
        EXPECT_FALSE(basic_credentials(header).has_value()) << header;
    }
}

TEST(SecretSet, FindsEverySecretItHoldsAndNothingElse) {
    secret_set secrets;
    EXPECT_TRUE(secrets.empty());
    EXPECT_FALSE(secrets.contains(""));
    secrets.add(token_a);
    secrets.add(token_b);
    EXPECT_EQ(secrets.size(), 2u);
    EXPECT_TRUE(secrets.contains(token_a));
    EXPECT_TRUE(secrets.contains(token_b));
    EXPECT_FALSE(secrets.contains(""));
    EXPECT_FALSE(secrets.contains(token_a.substr(0, token_a.size() - 1)));
    EXPECT_FALSE(secrets.contains(std::string(token_a) + "x"));
    std::string flipped(token_a);
    flipped[0] = 'K';
    EXPECT_FALSE(secrets.contains(flipped));
}

TEST(SecretCheck, WithoutSecretsEveryRequestPasses) {
    const secret_check check;
    EXPECT_FALSE(check.required());
    EXPECT_TRUE(check.passes(std::nullopt, ""));
}

TEST(SecretCheck, TokenOrBasicPasses) {
    secret_set tokens;
    tokens.add(token_a);
    secret_set users;
    users.add("tencent:0123456789abcdef");
    const secret_check check(tokens, users);
    EXPECT_TRUE(check.required());

    const std::string_view good_basic = "Basic dGVuY2VudDowMTIzNDU2Nzg5YWJjZGVm";
    const std::string_view bad_basic = "Basic dGVuY2VudDowMTIzNDU2Nzg5YWJjZGVn";  // ...defg
    EXPECT_TRUE(check.passes(token_a, ""));
    EXPECT_TRUE(check.passes(std::nullopt, good_basic));
    EXPECT_TRUE(check.passes(token_b, good_basic));
    EXPECT_TRUE(check.passes(token_a, bad_basic));
    EXPECT_FALSE(check.passes(token_b, bad_basic));
    EXPECT_FALSE(check.passes(std::nullopt, ""));
    EXPECT_FALSE(check.passes(std::string_view(), ""));
    EXPECT_FALSE(check.passes(std::nullopt, "Bearer k3J9-xQ2_vL8.tR5~wZ1"));
}

TEST(SecretCheck, BasicCredentialsAreNoToken) {
    secret_set tokens;
    tokens.add(token_a);
    const secret_check only_tokens(tokens, {});
    // A token sent as a Basic password is no token.
    EXPECT_FALSE(only_tokens.passes(std::nullopt,
                                    "Basic " + std::string("eDprM0o5LXhRMl92TDgudFI1fndaMQ==")));

    secret_set users;
    users.add("tencent:0123456789abcdef");
    const secret_check only_basic({}, users);
    // And a "user:password" sent as a token is no Basic credential.
    EXPECT_FALSE(only_basic.passes("tencent:0123456789abcdef", ""));
}

}  // namespace
}  // namespace seshook
