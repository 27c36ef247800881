// End to end: what seshook answers to callback bodies, and where they end up.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "integration/integration_helpers.hpp"

namespace seshook::testing {
namespace {

using namespace std::chrono_literals;
using Callbacks = daemon_test;

const std::string ok_body = R"({"ok":true})";

std::vector<std::filesystem::path> example_files() {
    std::vector<std::filesystem::path> files;
    for (const auto& entry :
         std::filesystem::directory_iterator(source_dir() / "examples/events")) {
        if (entry.path().extension() == ".json") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

TEST_F(Callbacks, EveryExampleIsAcceptedAndWrittenToTheFileSink) {
    auto& daemon = start_daemon();
    const auto files = example_files();
    ASSERT_FALSE(files.empty()) << "no examples/events/*.json";

    // Post each example as it is on disk.
    std::map<std::string, nlohmann::json> expected;  // id -> payload
    std::set<std::string> event_names;
    for (const auto& file : files) {
        const std::string body = read_file(file);
        const auto response = send_once(daemon.port(), make_post("/callback", body));
        EXPECT_EQ(response.status, 200u) << file << ": " << response.body;
        EXPECT_EQ(response.body, ok_body) << file;
        const auto payload = nlohmann::json::parse(body);
        expected.emplace(expected_id(payload), payload);
        event_names.insert(payload.at("event").get<std::string>());
    }

    // There is one example of every documented event type.
    const std::set<std::string> documented{"delivered", "dropped",    "bounce",      "open",
                                           "click",     "spamreport", "unsubscribe", "deferred"};
    EXPECT_EQ(event_names, documented);

    // Each is in the file sink with its id, its payload as received, the peer and the time.
    const auto lines = wait_for_json_lines(daemon.events_path(), files.size(), 5s);
    ASSERT_EQ(lines.size(), files.size());
    for (const auto& line : lines) {
        const std::string id = line.at("id").get<std::string>();
        ASSERT_TRUE(expected.count(id)) << "unexpected record " << line.dump();
        EXPECT_EQ(line.at("payload"), expected.at(id)) << id;
        EXPECT_EQ(line.at("peer"), "127.0.0.1");
        EXPECT_TRUE(is_rfc3339_utc_ms(line.at("receivedAt").get<std::string>())) << line.dump();
        EXPECT_FALSE(line.contains("unknownEvent")) << line.dump();
        expected.erase(id);
    }
    EXPECT_TRUE(expected.empty());
}

TEST_F(Callbacks, RepeatedDeliveryGetsTheSameId) {
    // With dedup off, so that the repeat reaches the file and its id can be compared.
    daemon_options options;
    options.tables_toml = "[dedup]\nenabled = false\n";
    auto& daemon = start_daemon(std::move(options));
    const std::string body = sample_event(1);
    const std::string same_with_other_layout =
        R"({ "BULKID":"qcloudses-30-251200670-date-20240601142439-8jolHvR2XcXC1", )"
        R"("timestamp":1717251880, "Email":"USER1@example.com", "event":"delivered" })";
    EXPECT_EQ(send_once(daemon.port(), make_post("/callback", body)).status, 200u);
    EXPECT_EQ(send_once(daemon.port(), make_post("/callback", same_with_other_layout)).status,
              200u);
    EXPECT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(2))).status, 200u);

    const auto lines = wait_for_json_lines(daemon.events_path(), 3, 5s);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0].at("id"), lines[1].at("id"));
    EXPECT_NE(lines[0].at("id"), lines[2].at("id"));
}

TEST_F(Callbacks, RepeatedDeliveryIsAnsweredButWrittenOnce) {
    auto& daemon = start_daemon();
    const std::string body = sample_event(1);
    const std::string same_with_other_layout =
        R"({ "BULKID":"qcloudses-30-251200670-date-20240601142439-8jolHvR2XcXC1", )"
        R"("timestamp":1717251880, "Email":"USER1@example.com", "event":"delivered" })";
    EXPECT_EQ(send_once(daemon.port(), make_post("/callback", body)).body, ok_body);
    const auto repeat = send_once(daemon.port(), make_post("/callback", same_with_other_layout));
    EXPECT_EQ(repeat.status, 200u);
    EXPECT_EQ(repeat.body, R"({"ok":true,"duplicates":1})");
    EXPECT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(2))).status, 200u);

    // Records are written in the order of the answers: had the repeat gone through, it would
    // stand between the other two.
    const auto lines = wait_for_json_lines(daemon.events_path(), 2, 5s);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].at("payload"), nlohmann::json::parse(body));
    EXPECT_EQ(lines[1].at("payload"), nlohmann::json::parse(sample_event(2)));
}

TEST_F(Callbacks, BatchOfThreeGivesThreeRecords) {
    auto& daemon = start_daemon();
    const std::string body =
        "[" + sample_event(1) + ",\n " + sample_event(2) + " , " + sample_event(3) + "]";
    const auto response = send_once(daemon.port(), make_post("/callback", body));
    EXPECT_EQ(response.status, 200u) << response.body;
    EXPECT_EQ(response.body, ok_body);

    const auto lines = wait_for_json_lines(daemon.events_path(), 3, 5s);
    ASSERT_EQ(lines.size(), 3u);
    std::set<std::string> emails;
    for (const auto& line : lines) emails.insert(line.at("payload").at("email").get<std::string>());
    EXPECT_EQ(emails, (std::set<std::string>{"user1@example.com", "user2@example.com",
                                             "user3@example.com"}));
}

TEST_F(Callbacks, MalformedJsonIs400AndKeptInRejects) {
    auto& daemon = start_daemon();
    const std::string body = R"({"event":"delivered","email":"user@example.com",)";
    const auto response = send_once(daemon.port(), make_post("/callback", body));
    EXPECT_EQ(response.status, 400u);
    EXPECT_EQ(response.header("Content-Type"), "application/json");
    const auto answer = json_body(response);
    ASSERT_TRUE(answer.is_object()) << response.body;
    EXPECT_EQ(answer.value("error", ""), "invalid_json");
    EXPECT_TRUE(answer.contains("detail") && answer["detail"].is_string()) << response.body;

    // The raw body is kept with the reason, the peer and the time; no event was written.
    const auto rejects = wait_for_json_lines(daemon.rejects_path(), 1, 5s);
    ASSERT_EQ(rejects.size(), 1u);
    EXPECT_EQ(rejects[0].value("body", ""), body);
    EXPECT_EQ(rejects[0].value("reason", ""), "invalid_json");
    EXPECT_EQ(rejects[0].value("peer", ""), "127.0.0.1");
    EXPECT_TRUE(is_rfc3339_utc_ms(rejects[0].value("time", ""))) << rejects[0].dump();
    EXPECT_TRUE(read_json_lines(daemon.events_path()).empty());
}

TEST_F(Callbacks, WrongTypeIs400NamingTheField) {
    auto& daemon = start_daemon();
    const std::string body =
        R"({"event":"delivered","email":"user@example.com","templateId":[123456]})";
    const auto response = send_once(daemon.port(), make_post("/callback", body));
    EXPECT_EQ(response.status, 400u);
    const auto answer = json_body(response);
    EXPECT_EQ(answer.value("error", ""), "wrong_type") << response.body;
    EXPECT_NE(answer.value("detail", "").find("templateId"), std::string::npos) << response.body;

    const auto rejects = wait_for_json_lines(daemon.rejects_path(), 1, 5s);
    ASSERT_EQ(rejects.size(), 1u);
    EXPECT_EQ(rejects[0].value("reason", ""), "wrong_type");
    EXPECT_EQ(rejects[0].value("body", ""), body);
}

TEST_F(Callbacks, MissingEmailIs400NamingTheField) {
    auto& daemon = start_daemon();
    const auto response =
        send_once(daemon.port(), make_post("/callback", R"({"event":"delivered"})"));
    EXPECT_EQ(response.status, 400u);
    const auto answer = json_body(response);
    EXPECT_EQ(answer.value("error", ""), "missing_field") << response.body;
    EXPECT_NE(answer.value("detail", "").find("email"), std::string::npos) << response.body;
}

TEST_F(Callbacks, OneBadElementRefusesTheWholeBatch) {
    auto& daemon = start_daemon();
    const std::string body = "[" + sample_event(1) + R"(,{"event":"open"}])";
    const auto response = send_once(daemon.port(), make_post("/callback", body));
    EXPECT_EQ(response.status, 400u) << response.body;

    const auto rejects = wait_for_json_lines(daemon.rejects_path(), 1, 5s);
    ASSERT_EQ(rejects.size(), 1u);
    EXPECT_EQ(rejects[0].value("body", ""), body);
    EXPECT_TRUE(read_json_lines(daemon.events_path()).empty());
}

TEST_F(Callbacks, LenientModeAcceptsDigitStringsAndUnknownEvents) {
    auto& daemon = start_daemon(with_schema(R"(mode = "lenient")"));

    // A digit-string timestamp counts as the number, so the id is the same.
    auto payload = nlohmann::json::parse(sample_event(7));
    payload["timestamp"] = std::to_string(payload["timestamp"].get<long long>());
    auto response = send_once(daemon.port(), make_post("/callback", payload.dump()));
    EXPECT_EQ(response.status, 200u) << response.body;

    // An event name seshook does not know is kept and flagged.
    const std::string unknown =
        R"({"event":"processed","email":"user@example.com","timestamp":1654064683})";
    response = send_once(daemon.port(), make_post("/callback", unknown));
    EXPECT_EQ(response.status, 200u) << response.body;

    const auto lines = wait_for_json_lines(daemon.events_path(), 2, 5s);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].at("id"), expected_id(nlohmann::json::parse(sample_event(7))));
    EXPECT_EQ(lines[0].at("payload"), payload);
    EXPECT_EQ(lines[1].at("payload").at("event"), "processed");
    EXPECT_EQ(lines[1].value("unknownEvent", false), true) << lines[1].dump();
    EXPECT_TRUE(daemon.wait_for_log("unknown event name", 2s));
}

TEST_F(Callbacks, StrictModeRefusesDigitStringsAndUnknownEvents) {
    auto& daemon = start_daemon(with_schema(R"(mode = "strict")"));

    auto payload = nlohmann::json::parse(sample_event(7));
    payload["timestamp"] = std::to_string(payload["timestamp"].get<long long>());
    auto response = send_once(daemon.port(), make_post("/callback", payload.dump()));
    EXPECT_EQ(response.status, 400u) << response.body;
    EXPECT_EQ(json_body(response).value("error", ""), "wrong_type") << response.body;
    EXPECT_NE(json_body(response).value("detail", "").find("timestamp"), std::string::npos);

    response =
        send_once(daemon.port(),
                  make_post("/callback", R"({"event":"processed","email":"user@example.com"})"));
    EXPECT_EQ(response.status, 400u) << response.body;
    EXPECT_EQ(json_body(response).value("error", ""), "unknown_event") << response.body;

    // The valid form still passes in strict mode.
    response = send_once(daemon.port(), make_post("/callback", sample_event(7)));
    EXPECT_EQ(response.status, 200u) << response.body;

    EXPECT_EQ(wait_for_json_lines(daemon.rejects_path(), 2, 5s).size(), 2u);
    EXPECT_EQ(wait_for_json_lines(daemon.events_path(), 1, 5s).size(), 1u);
}

TEST_F(Callbacks, AnyContentTypeIsAccepted) {
    auto& daemon = start_daemon();
    const std::vector<std::string> headers{
        "Content-Type: text/plain\r\n",
        "",
        "Content-Type: application/json; charset=utf-8\r\n",
        "Content-Type: application/x-www-form-urlencoded\r\n",
    };
    raw_connection connection(daemon.port());
    for (std::size_t i = 0; i < headers.size(); ++i) {
        connection.send(make_post("/callback", sample_event(i), headers[i]));
        const auto response = connection.read_response();
        EXPECT_EQ(response.status, 200u) << "headers: " << headers[i] << response.body;
    }
    EXPECT_EQ(wait_for_json_lines(daemon.events_path(), headers.size(), 5s).size(), headers.size());
}

TEST_F(Callbacks, SecretInTheQueryStringStillReachesTheCallback) {
    auto& daemon = start_daemon();
    const auto response =
        send_once(daemon.port(), make_post("/callback?token=9f3b2c7d", sample_event(1)));
    EXPECT_EQ(response.status, 200u) << response.body;
    EXPECT_EQ(wait_for_json_lines(daemon.events_path(), 1, 5s).size(), 1u);
}

TEST_F(Callbacks, HostileBodiesGetAnAnswerAndTheDaemonLivesOn) {
    auto& daemon = start_daemon();
    const std::vector<std::string> bodies{
        std::string(2000, '[') + std::string(2000, ']'),
        R"({"event":"delivered","email":"a@example.com","timestamp":99999999999999999999999})",
        "{\"event\":\"delivered\",\"email\":\"a\xff\xfe@example.com\"}",
        R"({"event":"delivered","email":"a@example.com","email":"b@example.com"})",
        R"({"event":"{}{}{:>99999999}","email":"a@example.com"})",
        "",
        "null",
        "[]",
    };
    raw_connection connection(daemon.port());
    for (const auto& body : bodies) {
        connection.send(make_post("/callback", body));
        const auto response = connection.read_response();
        EXPECT_GE(response.status, 200u) << body.substr(0, 80);
        EXPECT_LT(response.status, 500u) << body.substr(0, 80);
    }

    // Still serving afterwards.
    EXPECT_EQ(send_once(daemon.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status, 200u);
}

}  // namespace
}  // namespace seshook::testing
