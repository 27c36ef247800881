#include "seshook/support/printable.hpp"

#include <gtest/gtest.h>

#include <string>

namespace seshook {
namespace {

TEST(Printable, KeepsPlainTextAndUtf8) {
    EXPECT_EQ(printable("plain text"), "plain text");
    EXPECT_EQ(printable("caf\xc3\xa9"), "caf\xc3\xa9");
}

TEST(Printable, EscapesControlCharactersSoNoLineCanBeForged) {
    EXPECT_EQ(printable("a\nb\x1b[31m\x7f"), "a\\x0ab\\x1b[31m\\x7f");
    EXPECT_EQ(printable(std::string("nul\0byte", 8)), "nul\\x00byte");
}

TEST(Printable, EscapesUnicodeLineBreaksAndC1Controls) {
    EXPECT_EQ(printable("a\u2028b\u2029c"), "a\\xe2\\x80\\xa8b\\xe2\\x80\\xa9c");
    EXPECT_EQ(printable("next\u0085line"), "next\\xc2\\x85line");
    EXPECT_EQ(printable("\u00e9\u2014"), "\u00e9\u2014");  // ordinary characters stay
}

TEST(Printable, CutsLongTextAndMarksTheCut) {
    const std::string long_text(500, 'x');
    EXPECT_EQ(printable(long_text, 20), std::string(20, 'x') + "...");
    EXPECT_EQ(printable(std::string(20, 'x'), 20), std::string(20, 'x'));
}

TEST(Printable, NeverCutsInsideAUtf8Character) {
    // "é" is two bytes: a cut after 3 bytes falls inside the second one.
    EXPECT_EQ(printable("\xc3\xa9\xc3\xa9\xc3\xa9", 3), "\xc3\xa9\xc3\xa9...");
    EXPECT_EQ(printable("\xe2\x98\x95\xe2\x98\x95", 1), "\xe2\x98\x95...");
}

TEST(MaskedPath, HidesWhatFollowsTheFirstSegment) {
    EXPECT_EQ(masked_path("/callback"), "/callback");
    EXPECT_EQ(masked_path("/callback/9f3b2c7d1e"), "/callback/***");
    EXPECT_EQ(masked_path("/ses/hooks/9f3b"), "/ses/***");
    EXPECT_EQ(masked_path("/9f3b2c7d1e5a6b"), "/9f3***");
    EXPECT_EQ(masked_path("/hooks/"), "/hooks/");
}

}  // namespace
}  // namespace seshook
