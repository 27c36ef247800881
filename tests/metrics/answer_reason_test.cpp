#include "seshook/metrics/answer_reason.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "http/body_decoding.hpp"
#include "seshook/event/schema.hpp"

namespace seshook {
namespace {

TEST(AnswerReason, EveryReasonHasItsOwnLabelAndComesBackFromIt) {
    std::set<std::string> labels;
    for (std::size_t i = 0; i < answer_reason_count; ++i) {
        const auto reason = static_cast<answer_reason>(i);
        const std::string label(to_string(reason));
        EXPECT_TRUE(labels.insert(label).second) << label;
        if (reason != answer_reason::other) {
            EXPECT_EQ(answer_reason_from_code(label), reason);
        }
    }
    EXPECT_EQ(labels.size(), answer_reason_count);
}

TEST(AnswerReason, EverySchemaCodeIsARejection) {
    for (auto e = static_cast<int>(schema_error::invalid_json);
         e <= static_cast<int>(schema_error::eventid_mismatch); ++e) {
        const auto code = to_string(static_cast<schema_error>(e));
        const auto reason = answer_reason_from_code(code);
        EXPECT_NE(reason, answer_reason::other) << code;
        EXPECT_TRUE(is_rejection(reason)) << code;
    }
}

TEST(AnswerReason, EveryBodyDecodingCodeIsARejection) {
    for (const auto e : {body_decoding_error::unsupported_encoding, body_decoding_error::too_large,
                         body_decoding_error::invalid_gzip}) {
        EXPECT_TRUE(is_rejection(answer_reason_from_code(to_string(e)))) << to_string(e);
    }
}

TEST(AnswerReason, FramingAndAccountRefusalsAreRejectionsButHeadRefusalsAreNot) {
    for (const char* code :
         {"body_too_large", "header_too_large", "malformed_request", "account_not_allowed"}) {
        EXPECT_TRUE(is_rejection(answer_reason_from_code(code))) << code;
    }
    for (const auto reason :
         {answer_reason::accepted, answer_reason::duplicate, answer_reason::not_found,
          answer_reason::forbidden, answer_reason::rate_limited, answer_reason::overloaded,
          answer_reason::spool_full, answer_reason::metrics}) {
        EXPECT_FALSE(is_rejection(reason)) << to_string(reason);
    }
}

TEST(AnswerReason, AnUnknownCodeIsOther) {
    EXPECT_EQ(answer_reason_from_code("no_such_code"), answer_reason::other);
    EXPECT_EQ(answer_reason_from_code(""), answer_reason::other);
    EXPECT_EQ(answer_reason_from_code("other"), answer_reason::other);
}

}  // namespace
}  // namespace seshook
