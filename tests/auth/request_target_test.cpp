#include "seshook/auth/request_target.hpp"

#include <gtest/gtest.h>

namespace seshook {
namespace {

TEST(RequestTarget, SplitsOriginForm) {
    const target_parts parts = split_target("/callback/abc?token=x&y=1");
    EXPECT_EQ(parts.origin, "");
    EXPECT_EQ(parts.path, "/callback/abc");
    EXPECT_EQ(parts.query, "token=x&y=1");

    EXPECT_EQ(split_target("/callback").query, "");
    EXPECT_EQ(split_target("/callback?").path, "/callback");
    EXPECT_EQ(split_target("/callback?").query, "");
    EXPECT_EQ(split_target("/a?b?c").query, "b?c");
}

TEST(RequestTarget, SplitsAbsoluteForm) {
    const target_parts parts = split_target("HTTP://seshook.example:8080/callback?token=x");
    EXPECT_EQ(parts.origin, "HTTP://seshook.example:8080");
    EXPECT_EQ(parts.path, "/callback");
    EXPECT_EQ(parts.query, "token=x");

    EXPECT_EQ(split_target("https://host").path, "/");
    EXPECT_EQ(split_target("http://host?token=x").path, "/");
    EXPECT_EQ(split_target("http://host?token=x").query, "token=x");
}

TEST(RequestTarget, FindsTheFirstValueOfAParameter) {
    EXPECT_EQ(query_value("token=abc", "token").value_or("?"), "abc");
    EXPECT_EQ(query_value("a=1&token=abc&b", "token").value_or("?"), "abc");
    EXPECT_EQ(query_value("token=first&token=second", "token").value_or("?"), "first");
    EXPECT_EQ(query_value("token=", "token").value_or("?"), "");
    EXPECT_EQ(query_value("token", "token").value_or("?"), "");
    EXPECT_EQ(query_value("token=a=b", "token").value_or("?"), "a=b");
}

TEST(RequestTarget, NamesAreComparedExactly) {
    EXPECT_FALSE(query_value("", "token").has_value());
    EXPECT_FALSE(query_value("Token=abc", "token").has_value());
    EXPECT_FALSE(query_value("tokens=abc", "token").has_value());
    EXPECT_FALSE(query_value("xtoken=abc&&", "token").has_value());
    EXPECT_FALSE(query_value("t%6Fken=abc", "token").has_value());
}

TEST(RequestTarget, RestAfterABasePath) {
    EXPECT_EQ(rest_after("/callback/abc", "/callback").value_or("?"), "abc");
    EXPECT_EQ(rest_after("/callback/a/b", "/callback").value_or("?"), "a/b");
    EXPECT_EQ(rest_after("/callback/", "/callback").value_or("?"), "");
    EXPECT_EQ(rest_after("/hooks/abc", "/hooks/").value_or("?"), "abc");
    EXPECT_FALSE(rest_after("/callback", "/callback/x").has_value());
    EXPECT_FALSE(rest_after("/callbackabc", "/callback").has_value());
    EXPECT_FALSE(rest_after("/callback", "/callback").has_value());
    EXPECT_FALSE(rest_after("/other/abc", "/callback").has_value());
}

}  // namespace
}  // namespace seshook
