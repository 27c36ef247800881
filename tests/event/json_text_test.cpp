#include "seshook/event/json_text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "event/detail/json_scan.hpp"

namespace seshook {
namespace {

using namespace std::string_view_literals;

TEST(CompactJson, DropsWhitespaceBetweenTokens) {
    EXPECT_EQ(compact_json(" {\n\t\"a\" : [ 1 , 2 ] ,\r\n \"b\" : { } }\n"),
              R"({"a":[1,2],"b":{}})");
}

TEST(CompactJson, KeepsStringsAndNumbersByteForByte) {
    const std::string text = R"({ "s" : " a \" b\\ { , } " , "n" : -1.50E+10 , "u" : "\u00e9 x" })";
    EXPECT_EQ(compact_json(text), R"({"s":" a \" b\\ { , } ","n":-1.50E+10,"u":"\u00e9 x"})");
}

TEST(CompactJson, KeepsNonAsciiText) {
    EXPECT_EQ(compact_json("{ \"subject\" : \"订单 已发货\" }"), "{\"subject\":\"订单 已发货\"}");
}

TEST(CompactJson, LeavesCompactTextUnchanged) {
    const std::string text = R"({"event":"open","email":"a@example.com","n":[1,{"x":null}]})";
    EXPECT_EQ(compact_json(text), text);
}

TEST(SplitJsonArray, ReturnsExactTextOfEachElement) {
    const std::string text = "  [ {\"a\" : 1} ,\n\t[1, [2]], \"x, ]\" , 3.0e2, null ]  ";
    const std::vector<std::string_view> expected{"{\"a\" : 1}", "[1, [2]]", "\"x, ]\"", "3.0e2",
                                                 "null"};
    EXPECT_EQ(split_json_array(text), expected);
}

TEST(SplitJsonArray, IgnoresBracketsAndQuotesInsideStrings) {
    const std::string text = R"([{"s":"}]\"[{,"},{"t":"\\"}])";
    const std::vector<std::string_view> expected{R"({"s":"}]\"[{,"})", R"({"t":"\\"})"};
    EXPECT_EQ(split_json_array(text), expected);
}

TEST(SplitJsonArray, ReturnsNothingForAnEmptyArray) {
    EXPECT_TRUE(split_json_array("[]").empty());
    EXPECT_TRUE(split_json_array(" [ \n ] ").empty());
}

TEST(SplitJsonArray, ElementsPointIntoTheInput) {
    const std::string text = "[{\"a\":1},{\"b\":2}]";
    const auto elements = split_json_array(text);
    ASSERT_EQ(elements.size(), 2u);
    EXPECT_EQ(elements[1].data(), text.data() + 9);
}

struct utf8_case {
    std::string_view name;
    std::string_view text;
    bool valid;
};

class Utf8Validity : public testing::TestWithParam<utf8_case> {};

TEST_P(Utf8Validity, MatchesTheStandard) {
    EXPECT_EQ(is_valid_utf8(GetParam().text), GetParam().valid) << GetParam().name;
}

INSTANTIATE_TEST_SUITE_P(
    Sequences, Utf8Validity,
    testing::Values(
        utf8_case{"empty", ""sv, true}, utf8_case{"ascii", "plain text {\"a\":1}"sv, true},
        utf8_case{"nul byte", "a\0b"sv, true}, utf8_case{"two bytes", "caf\xC3\xA9"sv, true},
        utf8_case{"three bytes", "\xE8\xAE\xA2\xE5\x8D\x95"sv, true},
        utf8_case{"four bytes", "\xF0\x9F\x98\x80"sv, true},
        utf8_case{"last before surrogates", "\xED\x9F\xBF"sv, true},
        utf8_case{"first after surrogates", "\xEE\x80\x80"sv, true},
        utf8_case{"U+FFFF", "\xEF\xBF\xBF"sv, true},
        utf8_case{"U+10FFFF", "\xF4\x8F\xBF\xBF"sv, true},
        utf8_case{"lone continuation", "a\x80"sv, false},
        utf8_case{"overlong slash C0", "\xC0\xAF"sv, false},
        utf8_case{"overlong C1", "\xC1\xBF"sv, false},
        utf8_case{"overlong three bytes", "\xE0\x80\xAF"sv, false},
        utf8_case{"overlong four bytes", "\xF0\x80\x80\xAF"sv, false},
        utf8_case{"high surrogate", "\xED\xA0\x80"sv, false},
        utf8_case{"low surrogate", "\xED\xBF\xBF"sv, false},
        utf8_case{"above U+10FFFF", "\xF4\x90\x80\x80"sv, false},
        utf8_case{"lead F5", "\xF5\x80\x80\x80"sv, false}, utf8_case{"byte FF", "\xFF"sv, false},
        utf8_case{"truncated two bytes", "caf\xC3"sv, false},
        utf8_case{"truncated three bytes", "\xE2\x82"sv, false},
        utf8_case{"truncated four bytes", "\xF0\x9F\x98"sv, false},
        utf8_case{"bad second continuation", "\xE2\x82\x41"sv, false},
        utf8_case{"latin-1 text", "caf\xE9 au lait"sv, false}));

TEST(NestingScan, CountsBracketsOutsideStringsOnly) {
    EXPECT_FALSE(detail::nests_deeper_than(R"({"a":[1,{"b":2}]})", 3));
    EXPECT_TRUE(detail::nests_deeper_than(R"({"a":[1,{"b":[]}]})", 3));
    EXPECT_FALSE(detail::nests_deeper_than(R"({"s":"[[[[[[{{{{\"[[["})", 1));
}

TEST(NestingScan, StopsEarlyOnAHugeRunOfBrackets) {
    const std::string body(1'000'000, '[');
    EXPECT_TRUE(detail::nests_deeper_than(body, 16));
    EXPECT_FALSE(detail::nests_deeper_than(body.substr(0, 16), 16));
}

TEST(NestingScan, SiblingsDoNotAddUp) {
    std::string body = "[";
    for (int i = 0; i < 1000; ++i) body += "[],";
    body += "[]]";
    EXPECT_FALSE(detail::nests_deeper_than(body, 2));
}

}  // namespace
}  // namespace seshook
