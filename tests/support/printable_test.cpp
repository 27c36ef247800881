#include "seshook/support/printable.hpp"

#include <string>

#include <gtest/gtest.h>

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

TEST(Printable, CutsLongTextAndMarksTheCut) {
    const std::string long_text(500, 'x');
    EXPECT_EQ(printable(long_text, 20), std::string(20, 'x') + "...");
    EXPECT_EQ(printable(std::string(20, 'x'), 20), std::string(20, 'x'));
}

}  // namespace
}  // namespace seshook
