#include "seshook/event/record.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "seshook/event/json_text.hpp"

namespace seshook {
namespace {

using json = nlohmann::json;
using namespace std::chrono;

constexpr std::string_view bounce_body = R"({"event":"bounce","email":"user@example.com",
 "bulkId":"qcloudses-30-251200670-date-20220601142439-8jolHvR2XcXC1",
 "timestamp":1654064683,"reason":"551 5.1.1 recipient is not exist",
 "bounceType":"hard_bounce","username":"251200670","from":"news@example.net",
 "fromDomain":"example.net","templateId":123456})";

validated_event validate(std::string_view body, schema_mode mode = schema_mode::lenient) {
    auto result = parse_callback(body, mode);
    if (!result || result->size() != 1) throw std::runtime_error("body must hold one event");
    return std::move(result->front());
}

std::string id_of(std::string_view body) { return validate(body).id; }

const system_clock::time_point some_time =
    sys_days{2026y / December / 3} + 19h + 10min + 12s + 345ms;

TEST(Record, FormatsReceivedAtAsRfc3339WithMilliseconds) {
    const record_ptr made = make_record(validate(bounce_body), "203.0.113.7", some_time);
    EXPECT_EQ(made->received_at, "2026-12-03T19:10:12.345Z");
    EXPECT_EQ(made->peer, "203.0.113.7");

    const record_ptr now = make_record(validate(bounce_body), "203.0.113.7", system_clock::now());
    EXPECT_TRUE(
        std::regex_match(now->received_at, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
        << now->received_at;
}

TEST(Record, JsonLineParsesBackToTheEvent) {
    const record_ptr made = make_record(validate(bounce_body), "[2001:db8::1]", some_time);
    const std::string line = made->to_json_line();
    EXPECT_EQ(line.find('\n'), std::string::npos);

    const json parsed = json::parse(line);
    EXPECT_EQ(parsed.size(), 4u);
    EXPECT_EQ(parsed.at("id"), made->event.id);
    EXPECT_EQ(parsed.at("receivedAt"), "2026-12-03T19:10:12.345Z");
    EXPECT_EQ(parsed.at("peer"), "[2001:db8::1]");
    EXPECT_EQ(parsed.at("payload"), json::parse(bounce_body));
    EXPECT_FALSE(parsed.contains("unknownEvent"));
}

TEST(Record, JsonLineHasTheDocumentedLayout) {
    const record_ptr made = make_record(validate(bounce_body), "203.0.113.7", some_time);
    EXPECT_EQ(made->to_json_line(), R"({"id":")" + made->event.id +
                                        R"(","receivedAt":"2026-12-03T19:10:12.345Z",)"
                                        R"("peer":"203.0.113.7","payload":)" +
                                        compact_json(bounce_body) + "}");
}

TEST(Record, PayloadKeepsKeyOrderAndNumberText) {
    const std::string body = R"({"zeta":1.50,"event":"open","email":"a@example.com",)"
                             R"("big":12345678901234567890123,"s":" x  y "})";
    const std::string line = make_record(validate(body), "203.0.113.7", some_time)->to_json_line();
    EXPECT_NE(line.find(R"("payload":)" + body + "}"), std::string::npos) << line;
}

TEST(Record, FlagsUnknownEvents) {
    const std::string body = R"({"event":"processed","email":"a@example.com"})";
    const json parsed =
        json::parse(make_record(validate(body), "203.0.113.7", some_time)->to_json_line());
    EXPECT_EQ(parsed.at("unknownEvent"), true);
    EXPECT_EQ(parsed.at("payload"), json::parse(body));
}

TEST(Record, EscapesThePeer) {
    const std::string peer = "odd \"peer\" \\ \n";
    const json parsed =
        json::parse(make_record(validate(bounce_body), peer, some_time)->to_json_line());
    EXPECT_EQ(parsed.at("peer"), peer);
}

TEST(Record, EachBatchElementKeepsItsOwnPayload) {
    const std::string first = R"({"event":"open","email":"a@example.com","n":1})";
    const std::string second = R"({"event":"open","email":"b@example.com","n":2})";
    auto result = parse_callback("[" + first + ",\n " + second + "]", schema_mode::strict);
    ASSERT_TRUE(result);
    ASSERT_EQ(result->size(), 2u);
    const json one =
        json::parse(make_record((*result)[0], "203.0.113.7", some_time)->to_json_line());
    const json two =
        json::parse(make_record((*result)[1], "203.0.113.7", some_time)->to_json_line());
    EXPECT_EQ(one.at("payload"), json::parse(first));
    EXPECT_EQ(two.at("payload"), json::parse(second));
    EXPECT_NE(one.at("id"), two.at("id"));
}

TEST(RecordId, IsStableAcrossKeyOrderWhitespaceAndAddressCase) {
    const std::string base = id_of(bounce_body);
    EXPECT_EQ(base, id_of(json::parse(bounce_body).dump()));
    EXPECT_EQ(base, id_of(json::parse(bounce_body).dump(4)));
    EXPECT_EQ(base, id_of(R"({"templateId":123456,"fromDomain":"example.net",
        "from":"news@example.net","username":"251200670","bounceType":"hard_bounce",
        "reason":"another text", "timestamp" : 1654064683,
        "bulkId":"qcloudses-30-251200670-date-20220601142439-8jolHvR2XcXC1",
        "email":"User@EXAMPLE.com","event":"bounce"})"));
    // A repeated delivery with a millisecond timestamp is the same event.
    json millis = json::parse(bounce_body);
    millis["timestamp"] = 1654064683000;
    EXPECT_EQ(base, id_of(millis.dump()));
}

TEST(RecordId, DiffersForDifferentLinkTimestampOrRecipient) {
    const std::string click =
        R"({"event":"click","email":"a@example.com","bulkId":"qcloud-ses-ab12",)"
        R"("timestamp":1654064683,"link":"https://www.example.com/one"})";
    json other_link = json::parse(click);
    other_link["link"] = "https://www.example.com/two";
    json other_time = json::parse(click);
    other_time["timestamp"] = 1654064684;
    json other_email = json::parse(click);
    other_email["email"] = "b@example.com";

    const std::string base = id_of(click);
    EXPECT_NE(base, id_of(other_link.dump()));
    EXPECT_NE(base, id_of(other_time.dump()));
    EXPECT_NE(base, id_of(other_email.dump()));
}

}  // namespace
}  // namespace seshook
