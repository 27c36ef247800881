#include "seshook/event/schema.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "seshook/event/event_id.hpp"

namespace seshook {
namespace {

using json = nlohmann::json;
using namespace std::string_literals;

// The example of the documentation (SPEC.md), addresses replaced.
constexpr std::string_view spec_example = R"({"event":"bounce","email":"user@example.com",
 "bulkId":"qcloudses-30-251200670-date-20220601142439-8jolHvR2XcXC1",
 "timestamp":1654064683,"reason":"551 5.1.1 recipient is not exist",
 "bounceType":"hard_bounce","username":"251200670","from":"news@example.net",
 "fromDomain":"example.net","templateId":123456})";

struct type_case {
    std::string_view name;
    event_type type;
    std::string_view body;
};

// One realistic payload per event type, across the schema generations of SPEC.md.
const std::vector<type_case>& type_cases() {
    static const std::vector<type_case> cases{
        {"delivered", event_type::delivered,
         R"json({"event":"delivered","email":"alice@example.com",
 "bulkId":"qcloudses-30-1300000001-date-20250314093000-Xb7kQ2mRt9Lp1",
 "timestamp":1741944612,"reason":"250 2.0.0 Ok: queued","bounceType":"",
 "username":"1300000001","from":"orders@example.net","fromDomain":"example.net",
 "templateId":128734,"subject":"=?UTF-8?B?5oKo55qE6K6i5Y2V5bey5Y+R6LSn?=",
 "messageId":"<20250314093000.6f1c@example.net>","eventid":1,"taskId":0,
 "sentTimestamp":1741944600})json"},
        {"dropped", event_type::dropped,
         R"json({"event":"dropped","email":"bob@example.com",
 "bulkId":"qcloudses-30-1300000001-date-20231108161502-pR4vN8sKd2Wq7",
 "timestamp":1699460103,"reason":"recipient address is in the suppression list",
 "bounceType":"","username":"1300000001","from":"news@example.net",
 "fromDomain":"example.net"})json"},
        {"bounce", event_type::bounce, spec_example},
        {"open", event_type::open,
         R"json({"event":"open","email":"carol@example.com",
 "bulkId":"qcloudses-30-1300000001-date-20250402080015-Tz3mQ9aLw5Ve2",
 "timestamp":1743581322,"reason":"","bounceType":"","username":"1300000001",
 "from":"news@example.net","fromDomain":"example.net","templateId":131002,
 "useragent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64)","eventid":4,"taskId":58213,
 "sentTimestamp":1743580815})json"},
        {"click", event_type::click,
         R"json({"event":"click","email":"dave@example.com",
 "bulkId":"qcloudses-30-1300000001-date-20230917101244-Hq8wE2nYc6Ub3",
 "timestamp":1694945812,"bounceType":"",
 "link":"https://www.example.com/sale?utm_source=newsletter&utm_medium=email",
 "username":"1300000001","from":"news@example.net","fromDomain":"example.net",
 "templateId":88410,
 "useragent":"Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X)"})json"},
        {"spamreport", event_type::spamreport,
         R"json({"event":"spamreport","email":"erin@example.com",
 "bulkId":"qcloud-ses-5f3c9a0d2b7e4a1c8d6f0b9e3a7c2d15","timestamp":1625473951,
 "reason":"","bounceType":"","username":"1300000001","from":"promo@example.net",
 "fromDomain":"example.net"})json"},
        {"unsubscribe", event_type::unsubscribe,
         R"json({"event":"unsubscribe","email":"frank@example.com",
 "bulkId":"qcloudses-30-1300000001-date-20250520120000-Lk5rB7tPz1Nd4",
 "timestamp":1747745286,"username":"1300000001","from":"news@example.net",
 "fromDomain":"example.net","subject":"May newsletter",
 "messageId":"<20250520120000.b82d@example.net>","eventid":7,"taskId":61877,
 "sentTimestamp":1747742400,"X-Tencentcloudses-Cb-Campaign":"may-2025"})json"},
        {"deferred", event_type::deferred,
         R"json({"event":"deferred","email":"grace@example.com",
 "bulkId":"qcloudses-30-1300000001-date-20250611195530-Wm2cF6hJs8Qa5",
 "timestamp":1749671791,"reason":"421 4.7.0 Try again later","bounceType":"",
 "username":"1300000001","from":"billing@example.net","fromDomain":"example.net",
 "eventid":8})json"},
    };
    return cases;
}

using parse_result = boost::system::result<std::vector<validated_event>, schema_rejection>;

parse_result parse(std::string_view body, schema_mode mode = schema_mode::lenient,
                   const schema_limits& limits = {}) {
    return parse_callback(body, mode, limits);
}

// Parses a body that must hold exactly one valid event.
validated_event parse_one(std::string_view body, schema_mode mode = schema_mode::lenient) {
    auto result = parse(body, mode);
    if (!result) throw std::runtime_error("rejected: " + result.error().detail);
    if (result->size() != 1) throw std::runtime_error("not exactly one event");
    return std::move(result->front());
}

// Returns the rejection of a body that must be rejected.
schema_rejection rejection_of(std::string_view body, schema_mode mode = schema_mode::lenient,
                              const schema_limits& limits = {}) {
    auto result = parse(body, mode, limits);
    if (result) throw std::runtime_error("accepted a body that must be rejected");
    return result.error();
}

// The SPEC example with one member set.
std::string example_with(const std::string& key, const json& value) {
    json object = json::parse(spec_example);
    object[key] = value;
    return object.dump();
}

// The SPEC example without one member.
std::string example_without(const std::string& key) {
    json object = json::parse(spec_example);
    object.erase(key);
    return object.dump();
}

// ---------------------------------------------------------------------------------------------
// Every event type in both modes.

class SchemaEventTypes : public testing::TestWithParam<std::tuple<type_case, schema_mode>> {};

TEST_P(SchemaEventTypes, AcceptsRealisticPayload) {
    const auto& [type, mode] = GetParam();
    const validated_event event = parse_one(type.body, mode);
    const json object = json::parse(type.body);

    EXPECT_EQ(event.type, type.type);
    EXPECT_EQ(event.event, type.name);
    EXPECT_FALSE(event.unknown_event);
    EXPECT_EQ(event.email, object.at("email").get<std::string>());
    EXPECT_EQ(event.bulk_id, object.at("bulkId").get<std::string>());
    EXPECT_EQ(event.timestamp, object.at("timestamp").get<std::int64_t>());
    EXPECT_EQ(event.reason, object.value("reason", ""));
    EXPECT_EQ(event.bounce_type, object.value("bounceType", ""));
    EXPECT_EQ(event.link, object.value("link", ""));
    EXPECT_EQ(event.raw, type.body);
    const std::string timestamp = std::to_string(object.at("timestamp").get<std::int64_t>());
    EXPECT_EQ(event.id,
              make_event_id({event.bulk_id, event.email, event.event, timestamp, event.link}));
}

std::string type_case_name(const testing::TestParamInfo<SchemaEventTypes::ParamType>& info) {
    const type_case& type = std::get<0>(info.param);
    const bool strict = std::get<1>(info.param) == schema_mode::strict;
    return std::string(type.name) + (strict ? "Strict" : "Lenient");
}

INSTANTIATE_TEST_SUITE_P(EveryType, SchemaEventTypes,
                         testing::Combine(testing::ValuesIn(type_cases()),
                                          testing::Values(schema_mode::lenient,
                                                          schema_mode::strict)),
                         type_case_name);

TEST(Schema, FillsEventFromSpecExample) {
    const validated_event event = parse_one(spec_example, schema_mode::strict);
    EXPECT_EQ(event.type, event_type::bounce);
    EXPECT_EQ(event.email, "user@example.com");
    EXPECT_EQ(event.bulk_id, "qcloudses-30-251200670-date-20220601142439-8jolHvR2XcXC1");
    EXPECT_EQ(event.reason, "551 5.1.1 recipient is not exist");
    EXPECT_EQ(event.bounce_type, "hard_bounce");
    EXPECT_EQ(event.link, "");
    EXPECT_EQ(event.username, "251200670");
    EXPECT_EQ(event.timestamp, 1654064683);
}

TEST(Schema, KeepsTheTrimmedBodyAsRaw) {
    const std::string body = "\r\n  " + std::string(spec_example) + " \n\t";
    EXPECT_EQ(parse_one(body).raw, spec_example);
}

TEST(Schema, AcceptsOnlyEventAndEmail) {
    const validated_event event =
        parse_one(R"({"event":"open","email":"a@example.com"})", schema_mode::strict);
    EXPECT_EQ(event.type, event_type::open);
    EXPECT_FALSE(event.timestamp.has_value());
    EXPECT_EQ(event.bulk_id, "");
    EXPECT_EQ(event.username, "");
    EXPECT_EQ(event.id, make_event_id({"", "a@example.com", "open", "", ""}));
}

// ---------------------------------------------------------------------------------------------
// Required fields and field types.

TEST(Schema, RejectsMissingEventOrEmail) {
    for (const std::string field : {"event", "email"}) {
        for (const schema_mode mode : {schema_mode::lenient, schema_mode::strict}) {
            const schema_rejection rejection = rejection_of(example_without(field), mode);
            EXPECT_EQ(rejection.error, schema_error::missing_field);
            EXPECT_EQ(rejection.field, field);
            EXPECT_EQ(rejection.detail, "field '" + field + "' is missing");
            EXPECT_FALSE(rejection.index.has_value());
        }
    }
}

TEST(Schema, TreatsNullAsAbsent) {
    // Required: null is as good as missing.
    EXPECT_EQ(rejection_of(example_with("email", nullptr)).error, schema_error::missing_field);

    // Optional: null is ignored, in both modes.
    json object = json::parse(spec_example);
    for (const char* key : {"templateId", "link", "eventid", "X-Tencentcloudses-Cb-Ref"}) {
        object[key] = nullptr;
    }
    for (const schema_mode mode : {schema_mode::lenient, schema_mode::strict}) {
        EXPECT_EQ(parse_one(object.dump(), mode).link, "");
    }
}

TEST(Schema, RejectsEmptyEventOrEmail) {
    for (const std::string field : {"event", "email"}) {
        const schema_rejection rejection = rejection_of(example_with(field, ""));
        EXPECT_EQ(rejection.error, schema_error::invalid_value);
        EXPECT_EQ(rejection.field, field);
    }
}

const std::vector<std::string> string_fields{"event",      "email",     "bulkId",   "reason",
                                             "bounceType", "link",      "username", "from",
                                             "fromDomain", "useragent", "subject",  "messageId"};
const std::vector<std::string> integer_fields{"timestamp", "templateId", "eventid", "taskId",
                                              "sentTimestamp"};

struct type_error_case {
    std::string field;
    json value;
    schema_mode mode;
};

std::vector<type_error_case> type_error_cases() {
    std::vector<type_error_case> cases;
    for (const schema_mode mode : {schema_mode::lenient, schema_mode::strict}) {
        for (const auto& field : string_fields) {
            for (const json& value : {json(42), json(1.5), json(true), json::array({"x"}),
                                      json::object({{"x", "y"}})}) {
                cases.push_back({field, value, mode});
            }
        }
        for (const auto& field : integer_fields) {
            for (const json& value :
                 {json(1.5), json(1e3), json(true), json::array({1}), json::object(), json("x7"),
                  json(""), json("-12"), json(" 12"), json("1.0")}) {
                cases.push_back({field, value, mode});
            }
        }
    }
    // Digit strings are integers in lenient mode only.
    for (const auto& field : integer_fields) cases.push_back({field, "123", schema_mode::strict});
    return cases;
}

class SchemaFieldTypes : public testing::TestWithParam<type_error_case> {};

TEST_P(SchemaFieldTypes, RejectsWrongTypeNamingTheField) {
    const auto& [field, value, mode] = GetParam();
    const schema_rejection rejection = rejection_of(example_with(field, value), mode);
    EXPECT_EQ(rejection.error, schema_error::wrong_type) << rejection.detail;
    EXPECT_EQ(rejection.field, field);
    EXPECT_NE(rejection.detail.find("field '" + field + "'"), std::string::npos)
        << rejection.detail;
}

INSTANTIATE_TEST_SUITE_P(EveryField, SchemaFieldTypes, testing::ValuesIn(type_error_cases()));

TEST(Schema, DetailSaysWhatTypeWasExpected) {
    EXPECT_EQ(rejection_of(example_with("email", 5)).detail,
              "field 'email' must be a string, not a number");
    EXPECT_EQ(rejection_of(example_with("templateId", json::array())).detail,
              "field 'templateId' must be an integer, not an array");
    EXPECT_EQ(rejection_of(example_with("templateId", "12"), schema_mode::strict).detail,
              "field 'templateId' must be an integer, not a string (strict mode)");
}

TEST(Schema, LenientModeReadsDigitStringsAsIntegers) {
    const validated_event as_number = parse_one(spec_example);
    const validated_event as_text = parse_one(example_with("timestamp", "1654064683"));
    EXPECT_EQ(as_text.timestamp, 1654064683);
    EXPECT_EQ(as_text.id, as_number.id);
    EXPECT_EQ(as_text.raw, example_with("timestamp", "1654064683"));
    for (const auto& field : integer_fields) {
        // eventid must also agree with the event; 3 is bounce's.
        EXPECT_TRUE(parse(example_with(field, field == "eventid" ? "3" : "0012")));
    }
}

TEST(Schema, RejectsIntegersBeyondSixtyFourBits) {
    const std::vector<std::string> bodies{
        R"({"event":"open","email":"a@example.com","timestamp":9223372036854775808})",
        R"({"event":"open","email":"a@example.com","timestamp":18446744073709551616})",
        R"({"event":"open","email":"a@example.com","templateId":-9223372036854775809})",
        R"({"event":"open","email":"a@example.com","taskId":123456789012345678901234567890})",
        R"({"event":"open","email":"a@example.com","taskId":"99999999999999999999"})",
    };
    for (const auto& body : bodies) {
        const schema_rejection rejection = rejection_of(body);
        EXPECT_EQ(rejection.error, schema_error::wrong_type) << body;
        EXPECT_NE(rejection.detail.find("64-bit"), std::string::npos) << rejection.detail;
    }
    EXPECT_TRUE(parse(R"({"event":"open","email":"a@example.com","taskId":9223372036854775807})"));
    EXPECT_TRUE(parse(R"({"event":"open","email":"a@example.com","taskId":-9223372036854775808})"));
}

TEST(Schema, KeepsHugeNumbersInUnknownFields) {
    const std::string body =
        R"({"event":"open","email":"a@example.com","extra":123456789012345678901234567890.5e3})";
    EXPECT_EQ(parse_one(body, schema_mode::strict).raw, body);
}

TEST(Schema, RefusesNumbersBeyondDoubleWithoutCrashing) {
    const schema_rejection rejection =
        rejection_of(R"({"event":"open","email":"a@example.com","extra":1e999})");
    EXPECT_EQ(rejection.error, schema_error::invalid_json);
    EXPECT_EQ(rejection.detail, "body holds a number too large to represent");
}

// ---------------------------------------------------------------------------------------------
// Keys.

TEST(Schema, MatchesKnownKeysWithoutCase) {
    const std::string body =
        R"({"EVENT":"click","Email":"a@example.com","bulkid":"qcloud-ses-ab12",)"
        R"("TimeStamp":1654064683,"LINK":"https://www.example.com/x","BounceType":""})";
    const validated_event event = parse_one(body, schema_mode::strict);
    EXPECT_EQ(event.type, event_type::click);
    EXPECT_EQ(event.bulk_id, "qcloud-ses-ab12");
    EXPECT_EQ(event.timestamp, 1654064683);
    EXPECT_EQ(event.link, "https://www.example.com/x");
    EXPECT_EQ(event.id, make_event_id({"qcloud-ses-ab12", "a@example.com", "click", "1654064683",
                                       "https://www.example.com/x"}));
}

TEST(Schema, ChecksTypesOfKeysInAnyCase) {
    const schema_rejection rejection =
        rejection_of(R"({"event":"open","email":"a@example.com","TEMPLATEID":"abc"})");
    EXPECT_EQ(rejection.error, schema_error::wrong_type);
    EXPECT_EQ(rejection.field, "templateId");
}

TEST(Schema, KeepsUnknownKeysUnchecked) {
    const std::string body =
        R"({"event":"open","email":"a@example.com","newField":{"a":[1,2,null]},"Other":true})";
    EXPECT_EQ(parse_one(body, schema_mode::strict).raw, body);
}

TEST(Schema, ChecksCustomHeaderKeysAreStrings) {
    EXPECT_TRUE(
        parse(example_with("X-Tencentcloudses-Cb-Order-Id", "ord-42"), schema_mode::strict));
    EXPECT_TRUE(
        parse(example_with("x-tencentcloudses-cb-order-id", "ord-42"), schema_mode::strict));
    const schema_rejection rejection =
        rejection_of(example_with("X-TENCENTCLOUDSES-CB-Order-Id", 42));
    EXPECT_EQ(rejection.error, schema_error::wrong_type);
    EXPECT_EQ(rejection.field, "X-TENCENTCLOUDSES-CB-Order-Id");
}

TEST(Schema, RejectsDuplicateKeys) {
    const schema_rejection exact =
        rejection_of(R"({"event":"open","email":"a@example.com","email":"b@example.com"})");
    EXPECT_EQ(exact.error, schema_error::duplicate_key);
    EXPECT_EQ(exact.field, "email");
    EXPECT_EQ(exact.detail, "key 'email' appears twice in one object");

    const schema_rejection known =
        rejection_of(R"({"event":"open","email":"a@example.com","bulkId":"x","bulkid":"y"})");
    EXPECT_EQ(known.error, schema_error::duplicate_key);
    EXPECT_EQ(known.field, "bulkId");

    const schema_rejection custom =
        rejection_of(R"({"event":"open","email":"a@example.com",)"
                     R"("X-Tencentcloudses-Cb-A":"1","x-tencentcloudses-cb-a":"2"})");
    EXPECT_EQ(custom.error, schema_error::duplicate_key);

    const schema_rejection nested =
        rejection_of(R"({"event":"open","email":"a@example.com","meta":{"a":1,"a":2}})");
    EXPECT_EQ(nested.error, schema_error::duplicate_key);
    EXPECT_EQ(nested.field, "a");
}

TEST(Schema, ComparesOtherKeysExactly) {
    // Unknown keys differing in case, and known names inside nested objects, are different keys.
    EXPECT_TRUE(parse(R"({"event":"open","email":"a@example.com","Foo":1,"foo":2})"));
    EXPECT_TRUE(parse(R"({"event":"open","email":"a@example.com","meta":{"Link":1,"link":2}})"));
}

TEST(Schema, QuotesHostileKeysSafely) {
    const std::string long_key(1000, 'k');
    const schema_rejection rejection = rejection_of(
        R"({"event":"open","email":"a@example.com","a\nb":1,"a\nb":2,")" + long_key + "\":1}");
    EXPECT_EQ(rejection.detail, "key 'a\\x0ab' appears twice in one object");

    const schema_rejection long_rejection =
        rejection_of(R"({"event":"open","email":"a@example.com",")" + long_key + R"(":1,")" +
                     long_key + "\":2}");
    EXPECT_LT(long_rejection.detail.size(), 120u);
}

// ---------------------------------------------------------------------------------------------
// Event names and conditional fields.

TEST(Schema, AcceptsAndFlagsUnknownEventInLenientMode) {
    const validated_event event =
        parse_one(R"({"event":"processed","email":"a@example.com","eventid":42})");
    EXPECT_TRUE(event.unknown_event);
    EXPECT_EQ(event.type, event_type::unknown);
    EXPECT_EQ(event.event, "processed");
}

TEST(Schema, RejectsUnknownEventInStrictMode) {
    const schema_rejection rejection =
        rejection_of(R"({"event":"processed","email":"a@example.com"})", schema_mode::strict);
    EXPECT_EQ(rejection.error, schema_error::unknown_event);
    EXPECT_EQ(rejection.field, "event");
    EXPECT_NE(rejection.detail.find("'processed'"), std::string::npos);
}

TEST(Schema, MatchesEventNamesExactly) {
    EXPECT_TRUE(parse_one(R"({"event":"Bounce","email":"a@example.com"})").unknown_event);
}

TEST(Schema, RequiresLinkOnClick) {
    for (const std::string body : {R"({"event":"click","email":"a@example.com"})",
                                   R"({"event":"click","email":"a@example.com","link":""})"}) {
        for (const schema_mode mode : {schema_mode::lenient, schema_mode::strict}) {
            const schema_rejection rejection = rejection_of(body, mode);
            EXPECT_EQ(rejection.error, schema_error::missing_field);
            EXPECT_EQ(rejection.field, "link");
        }
    }
}

TEST(Schema, ChecksBounceTypeOnBounce) {
    for (const std::string value : {"hard_bounce", "soft_bounce", "hard", "soft"}) {
        EXPECT_EQ(parse_one(example_with("bounceType", value), schema_mode::strict).bounce_type,
                  value);
    }
    for (const std::string value : {"", "permanent", "HARD_BOUNCE"}) {
        const schema_rejection rejection = rejection_of(example_with("bounceType", value));
        EXPECT_EQ(rejection.error, schema_error::invalid_value) << value;
        EXPECT_EQ(rejection.field, "bounceType");
    }
    // A bounce without bounceType is still a bounce: only strict mode refuses it.
    EXPECT_EQ(parse_one(example_without("bounceType")).type, event_type::bounce);
    const schema_rejection missing =
        rejection_of(example_without("bounceType"), schema_mode::strict);
    EXPECT_EQ(missing.error, schema_error::missing_field);
    EXPECT_EQ(missing.field, "bounceType");
}

TEST(Schema, ChecksBounceTypeOnOtherEventsOnlyInStrictMode) {
    EXPECT_TRUE(parse(R"({"event":"delivered","email":"a@example.com","bounceType":""})",
                      schema_mode::strict));
    EXPECT_TRUE(parse(R"({"event":"delivered","email":"a@example.com"})", schema_mode::strict));
    const std::string odd = R"({"event":"delivered","email":"a@example.com","bounceType":"hard"})";
    EXPECT_EQ(parse_one(odd).bounce_type, "hard");
    const schema_rejection rejection = rejection_of(odd, schema_mode::strict);
    EXPECT_EQ(rejection.error, schema_error::invalid_value);
    EXPECT_EQ(rejection.field, "bounceType");
    // An unknown event may carry anything.
    EXPECT_TRUE(parse(R"({"event":"complaint","email":"a@example.com","bounceType":"x"})"));
}

TEST(Schema, ChecksEventidAgainstEvent) {
    for (const auto& type : type_cases()) {
        json object = json::parse(type.body);
        object["eventid"] = static_cast<int>(type.type);
        EXPECT_TRUE(parse(object.dump(), schema_mode::strict)) << type.name;
        object["eventid"] = static_cast<int>(type.type) % 8 + 1;
        const schema_rejection rejection = rejection_of(object.dump());
        EXPECT_EQ(rejection.error, schema_error::eventid_mismatch) << type.name;
        EXPECT_EQ(rejection.field, "eventid");
    }
    EXPECT_EQ(rejection_of(example_with("eventid", 9)).error, schema_error::eventid_mismatch);
    EXPECT_EQ(rejection_of(example_with("eventid", "4")).detail,
              "field 'eventid' is 4 but event 'bounce' has eventid 3");
}

TEST(Schema, ReadsMillisecondTimestampsAsSeconds) {
    const validated_event seconds = parse_one(spec_example);
    const validated_event millis = parse_one(example_with("timestamp", 1654064683123));
    EXPECT_EQ(millis.timestamp, 1654064683);
    EXPECT_EQ(millis.id, seconds.id);
    // The raw payload still says what Tencent sent.
    EXPECT_NE(millis.raw.find("1654064683123"), std::string::npos);
}

TEST(Schema, RejectsNegativeTimestamp) {
    const schema_rejection rejection = rejection_of(example_with("timestamp", -1));
    EXPECT_EQ(rejection.error, schema_error::invalid_value);
    EXPECT_EQ(rejection.field, "timestamp");
}

// ---------------------------------------------------------------------------------------------
// Batches and the top level.

TEST(Schema, AcceptsBatchKeepingEachElementsText) {
    const std::string first = R"({ "event" : "open", "email" : "a@example.com" })";
    const std::string second = std::string(spec_example);
    const std::string body = " [\n  " + first + " ,\n  " + second + "\n] ";
    const auto result = parse(body, schema_mode::strict);
    ASSERT_TRUE(result) << result.error().detail;
    ASSERT_EQ(result->size(), 2u);
    EXPECT_EQ((*result)[0].raw, first);
    EXPECT_EQ((*result)[0].type, event_type::open);
    EXPECT_EQ((*result)[1].raw, second);
    EXPECT_EQ((*result)[1].type, event_type::bounce);
}

TEST(Schema, RejectsEmptyBatch) {
    EXPECT_EQ(rejection_of("[]").error, schema_error::empty_batch);
    EXPECT_EQ(rejection_of(" [ ] ").error, schema_error::empty_batch);
}

TEST(Schema, LimitsBatchSize) {
    const schema_limits limits{.max_depth = 16, .max_batch = 3};
    const std::string event = R"({"event":"open","email":"a@example.com"})";
    const std::string three = "[" + event + "," + event + "," + event + "]";
    const std::string four = "[" + event + "," + event + "," + event + "," + event + "]";
    EXPECT_EQ(parse(three, schema_mode::strict, limits)->size(), 3u);
    EXPECT_EQ(rejection_of(four, schema_mode::strict, limits).error, schema_error::batch_too_large);
}

TEST(Schema, NamesTheFailingBatchElement) {
    const std::string good = R"({"event":"open","email":"a@example.com"})";
    const std::string body =
        "[" + good + "," + good + "," + good + R"(,{"event":"open","email":5}])";
    const schema_rejection rejection = rejection_of(body);
    EXPECT_EQ(rejection.error, schema_error::wrong_type);
    EXPECT_EQ(rejection.index, 3u);
    EXPECT_EQ(rejection.detail, "element 3: field 'email' must be a string, not a number");

    const schema_rejection scalar = rejection_of("[" + good + ",1]");
    EXPECT_EQ(scalar.error, schema_error::not_an_event);
    EXPECT_EQ(scalar.index, 1u);

    const schema_rejection duplicate =
        rejection_of("[" + good + R"(,{"event":"open","Event":"open"}])");
    EXPECT_EQ(duplicate.error, schema_error::duplicate_key);
    EXPECT_EQ(duplicate.index, 1u);
    EXPECT_EQ(duplicate.detail, "element 1: key 'event' appears twice in one object");
}

TEST(Schema, RejectsWhatIsNotAnEvent) {
    for (const std::string body : {R"("bounce")", "42", "null", "true", "[[]]", R"([["x"]])"}) {
        EXPECT_EQ(rejection_of(body).error, schema_error::not_an_event) << body;
    }
}

TEST(Schema, RejectsInvalidJson) {
    for (const std::string body :
         {"", "  \n", "{", "not json", R"({"event":"open",})", R"({"event":'open'})", "{} {}",
          R"({"event":"open","email":"a@example.com"} x)", "/* c */ {}", "{\"a\":\"\x01\"}"}) {
        const schema_rejection rejection = rejection_of(body);
        EXPECT_EQ(rejection.error, schema_error::invalid_json) << body;
        EXPECT_FALSE(rejection.detail.empty());
    }
}

// Found by fuzzing (fuzz/corpus/callback/crash-nul-after-object): nlohmann's reader takes a NUL
// byte for the end of the input, so a body went on past it unread, into the record's raw text,
// and from there into the records file as bytes that are no JSON.
TEST(Schema, RejectsNulBytesAnywhere) {
    using namespace std::string_literals;
    for (const std::string& body :
         {std::string(spec_example) + "\0"s, std::string(spec_example) + "\n\0\0\0\n"s,
          std::string(spec_example) + "\0,\"id\":\"forged\"}"s,
          R"({"event":"open","email":"a@example.com","x":"a)" + "\0"s + R"(b"})",
          "\0"s + std::string(spec_example)}) {
        const schema_rejection rejection = rejection_of(body);
        EXPECT_EQ(rejection.error, schema_error::invalid_json);
        EXPECT_NE(rejection.detail.find("NUL"), std::string::npos) << rejection.detail;
    }
}

TEST(Schema, RejectsByteOrderMark) {
    const schema_rejection rejection = rejection_of("\xEF\xBB\xBF" + std::string(spec_example));
    EXPECT_EQ(rejection.error, schema_error::invalid_json);
    EXPECT_NE(rejection.detail.find("byte order mark"), std::string::npos);
}

TEST(Schema, RejectsInvalidUtf8InsideStrings) {
    for (const std::string bad : {"\xC3\x28", "\xC0\xAF", "\xED\xA0\x80", "\xF5\x80\x80\x80",
                                  "\xE9t\xE9", "\xF0\x9F\x98"}) {
        for (const std::string key : {"email", "reason", "unknownField"}) {
            const std::string body =
                R"({"event":"open","email":"a@example.com",")" + key + R"(":"x)" + bad + "\"}";
            const schema_rejection rejection = rejection_of(body);
            EXPECT_EQ(rejection.error, schema_error::invalid_json);
            EXPECT_NE(rejection.detail.find("UTF-8"), std::string::npos);
        }
    }
}

TEST(Schema, RejectsEscapedLoneSurrogate) {
    EXPECT_EQ(rejection_of(R"({"event":"open","email":"a@example.com","x":"\ud800"})").error,
              schema_error::invalid_json);
}

TEST(Schema, AcceptsEscapedTextAndNonAsciiText) {
    const validated_event event =
        parse_one(R"({"event":"bounce","email":"a@example.com","bounceType":"soft",)"
                  R"("reason":"\u4e2d\"q\" 中文 😀"})");
    EXPECT_EQ(event.reason, "中\"q\" 中文 😀");
}

TEST(Schema, RefusesDeepNestingCheaply) {
    const std::size_t huge = 100'000;
    for (const std::string& body :
         {std::string(huge, '['), std::string(huge, '[') + std::string(huge, ']'), [&] {
              std::string text;
              for (std::size_t i = 0; i < huge; ++i) text += R"({"a":)";
              return text;
          }()}) {
        const schema_rejection rejection = rejection_of(body);
        EXPECT_EQ(rejection.error, schema_error::too_deep);
        EXPECT_EQ(rejection.detail, "body nests deeper than 16 levels");
    }
}

TEST(Schema, AcceptsNestingUpToTheLimit) {
    // The event object is level 1; "extra" adds 15 more, reaching the limit of 16.
    const auto nested = [](std::size_t levels) {
        return R"({"event":"open","email":"a@example.com","extra":)" + std::string(levels, '[') +
               std::string(levels, ']') + "}";
    };
    EXPECT_TRUE(parse(nested(15)));
    EXPECT_EQ(rejection_of(nested(16)).error, schema_error::too_deep);
    // Brackets inside strings are text.
    EXPECT_TRUE(parse(R"({"event":"open","email":"a@example.com","reason":")" +
                      std::string(1000, '[') + "\"}"));
}

TEST(Schema, ReadsLongFlatBatchesInLinearTime) {
    // 300,000 empty objects: each must be read once, not rescanned per sibling. ctest's
    // timeout is the guard; the answer is the first element's missing field.
    std::string body = "[";
    for (int i = 0; i < 300'000; ++i) body += "{},";
    body += "{}]";
    const schema_limits limits{.max_depth = 16, .max_batch = 1'000'000};
    const schema_rejection rejection = rejection_of(body, schema_mode::lenient, limits);
    EXPECT_EQ(rejection.error, schema_error::missing_field);
    EXPECT_EQ(rejection.index, 0u);
    EXPECT_EQ(rejection_of(body).error, schema_error::batch_too_large);
}

TEST(Schema, NeverThrowsOnDamagedBodies) {
    // Every prefix of a real body, and the same body with random bytes overwritten.
    const std::string body =
        "[" + std::string(spec_example) + "," + std::string(type_cases()[4].body) + "]";
    for (std::size_t length = 0; length <= body.size(); ++length) {
        EXPECT_NO_THROW(parse(body.substr(0, length)));
    }
    std::mt19937 random(20250314);
    std::uniform_int_distribution<std::size_t> position(0, body.size() - 1);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int round = 0; round < 2000; ++round) {
        std::string damaged = body;
        for (int k = 0; k < 3; ++k) damaged[position(random)] = static_cast<char>(byte(random));
        for (const schema_mode mode : {schema_mode::lenient, schema_mode::strict}) {
            EXPECT_NO_THROW({
                const auto result = parse(damaged, mode);
                if (!result) {
                    EXPECT_FALSE(result.error().detail.empty());
                }
            });
        }
    }
}

TEST(Schema, ValueThrowsTheDetailOnRejection) {
    const auto result = parse(R"({"event":"open"})");
    try {
        (void)result.value();
        FAIL() << "value() did not throw";
    } catch (const std::runtime_error& error) {
        EXPECT_STREQ(error.what(), "field 'email' is missing");
    }
}

TEST(Schema, NamesEachErrorCode) {
    const std::vector<std::pair<schema_error, std::string_view>> codes{
        {schema_error::invalid_json, "invalid_json"},
        {schema_error::too_deep, "too_deep"},
        {schema_error::duplicate_key, "duplicate_key"},
        {schema_error::not_an_event, "not_an_event"},
        {schema_error::empty_batch, "empty_batch"},
        {schema_error::batch_too_large, "batch_too_large"},
        {schema_error::missing_field, "missing_field"},
        {schema_error::wrong_type, "wrong_type"},
        {schema_error::invalid_value, "invalid_value"},
        {schema_error::unknown_event, "unknown_event"},
        {schema_error::eventid_mismatch, "eventid_mismatch"},
    };
    for (const auto& [error, code] : codes) EXPECT_EQ(to_string(error), code);
}

}  // namespace
}  // namespace seshook
