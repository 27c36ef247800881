#include "seshook/auth/target_mask.hpp"

#include <gtest/gtest.h>

namespace seshook {
namespace {

constexpr std::string_view secret = "k3J9-xQ2_vL8.tR5~wZ1";

std::string mask(std::string_view target) { return mask_target(target, "/callback"); }

TEST(TargetMask, MasksTheTokenInThePath) {
    EXPECT_EQ(mask("/callback/" + std::string(secret)), "/callback/<masked>");
    EXPECT_EQ(mask("/callback/" + std::string(secret) + "/more"), "/callback/<masked>");
    EXPECT_EQ(mask("/callback/" + std::string(secret) + "?a=1"), "/callback/<masked>?a=1");
}

TEST(TargetMask, MasksEveryTokenInTheQuery) {
    EXPECT_EQ(mask("/callback?token=" + std::string(secret)), "/callback?token=<masked>");
    EXPECT_EQ(mask("/callback?a=1&token=x&TOKEN=y&b=2"),
              "/callback?a=1&token=<masked>&TOKEN=<masked>&b=2");
    EXPECT_EQ(mask("/elsewhere?token=" + std::string(secret)), "/elsewhere?token=<masked>");
    EXPECT_EQ(mask("/callback?tokens=abc&token"), "/callback?tokens=abc&token");
    EXPECT_EQ(mask("/callback?"), "/callback?");
}

TEST(TargetMask, MasksUserInfoOfAnAbsoluteForm) {
    EXPECT_EQ(mask("http://user:" + std::string(secret) + "@host:8080/callback"),
              "http://<masked>@host:8080/callback");
    EXPECT_EQ(mask("https://host/callback/" + std::string(secret)),
              "https://host/callback/<masked>");
    EXPECT_EQ(mask("http://host?token=" + std::string(secret)), "http://host?token=<masked>");
    EXPECT_EQ(mask("http://host"), "http://host");
}

TEST(TargetMask, LeavesOtherTargetsAsTheyCame) {
    EXPECT_EQ(mask("/callback"), "/callback");
    EXPECT_EQ(mask("/callbacks/abc"), "/callbacks/abc");
    EXPECT_EQ(mask("/wp-login.php?user=admin"), "/wp-login.php?user=admin");
    EXPECT_EQ(mask("/"), "/");
    EXPECT_EQ(mask(""), "");
}

TEST(TargetMask, HidesACallbackPathThatMayBeSecretItself) {
    const std::string path = "/hooks/" + std::string(secret);
    EXPECT_EQ(mask_target(path, path), "/hooks/***");
    EXPECT_EQ(mask_target(path + "/abc", path), "/hooks/***/<masked>");
}

TEST(TargetMask, CallbackPathEndingInASlashIsFollowedByTheToken) {
    EXPECT_EQ(mask_target("/hooks/" + std::string(secret), "/hooks/"), "/hooks/<masked>");
    EXPECT_EQ(mask_target("/hooks/", "/hooks/"), "/hooks/");
}

TEST(TargetMask, MasksATokenSentToAMistypedPath) {
    const std::string s(secret);
    EXPECT_EQ(mask("/CALLBACK/" + s), "/CALLBACK/<masked>");
    EXPECT_EQ(mask("//callback/" + s), "//callback/<masked>");
    EXPECT_EQ(mask("/ses/callback/" + s + "/x"), "/ses/callback/<masked>/x");
    EXPECT_EQ(mask("/callback#" + s), "/callback#<masked>");
    EXPECT_EQ(mask("/callback;token=" + s), "/callback;token=<masked>");
    EXPECT_EQ(mask("/callback?tok=" + s + "&a=1"), "/callback?tok=<masked>&a=1");
    EXPECT_EQ(mask("http://a-rather-long-host.example.com/x/" + s),
              "http://a-rather-long-host.example.com/x/<masked>");
}

TEST(TargetMask, NeverShowsTheSecretWhereverItStands) {
    const std::string s(secret);
    for (const std::string& target :
         {"/callback/" + s, "/callback?token=" + s, "/callback?x=1&token=" + s + "&y=2",
          "http://u:" + s + "@h/callback", "http://h/callback/" + s + "?token=" + s}) {
        EXPECT_EQ(mask(target).find(s), std::string::npos) << target;
    }
}

}  // namespace
}  // namespace seshook
