#include "seshook/support/base64.hpp"

#include <gtest/gtest.h>

#include <string>

namespace seshook {
namespace {

TEST(Base64, EncodesWithPaddingAsRfc4648Says) {
    // The test vectors of RFC 4648, section 10.
    EXPECT_EQ(encode_base64(""), "");
    EXPECT_EQ(encode_base64("f"), "Zg==");
    EXPECT_EQ(encode_base64("fo"), "Zm8=");
    EXPECT_EQ(encode_base64("foo"), "Zm9v");
    EXPECT_EQ(encode_base64("foob"), "Zm9vYg==");
    EXPECT_EQ(encode_base64("fooba"), "Zm9vYmE=");
    EXPECT_EQ(encode_base64("foobar"), "Zm9vYmFy");
}

TEST(Base64, DecodesWhatItEncodesBinaryIncluded) {
    std::string bytes;
    for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
    for (std::size_t length = 0; length <= bytes.size(); length += 37) {
        const std::string part = bytes.substr(0, length);
        EXPECT_EQ(decode_base64(encode_base64(part)), part) << length;
    }
    EXPECT_EQ(decode_base64("Zm9vYg=="), "foob");
}

TEST(Base64, RefusesWhatIsNotPaddedStandardBase64) {
    for (const std::string text : {"Zm9vY", "Zm9vYg", "Zm9v Yg==", "Zm9v\nYg==", "Zm=vYg==",
                                   "Zm9vYg===", "Zm9-Yg==", "Zm9_Yg==", "====", "Zg=A"}) {
        EXPECT_FALSE(decode_base64(text).has_value()) << text;
    }
}

}  // namespace
}  // namespace seshook
