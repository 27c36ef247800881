// End to end: bodies and paths written to break a parser or a logger get a 400 with a reason (or
// are taken as plain text), are kept in the rejects file, and leave the log well-formed.

#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include "integration/integration_helpers.hpp"

namespace seshook::testing {
namespace {

using namespace std::chrono_literals;
using HostileInput = daemon_test;

// Text that a formatting function would take for directives: fmt/spdlog replacement fields, one
// asking for a billion-character padding, and printf conversions, %n among them.
const std::string format_directives = "{}{0}{:>999999999}%s%n%x%p";

// A refused body of each kind of JSON edge case, and the code it must be refused with.
struct edge_case {
    std::string name;
    std::string body;
    std::string code;
};

std::vector<edge_case> json_edge_cases() {
    return {
        {"invalid UTF-8", "{\"event\":\"delivered\",\"email\":\"a\xff\xfe@example.com\"}",
         "invalid_json"},
        {"overlong UTF-8", "{\"event\":\"delivered\",\"email\":\"a\xc0\xaf@example.com\"}",
         "invalid_json"},
        {"byte-order mark", "\xEF\xBB\xBF" + sample_event(1), "invalid_json"},
        {"number beyond any type", R"({"event":"open","email":"a@example.com","x":1e999})",
         "invalid_json"},
        {"integer field beyond 64 bits",
         R"({"event":"delivered","email":"a@example.com","timestamp":99999999999999999999999})",
         "wrong_type"},
        {"negative integer beyond 64 bits",
         R"({"event":"delivered","email":"a@example.com","templateId":-99999999999999999999})",
         "wrong_type"},
        {"deep nesting", std::string(5000, '[') + std::string(5000, ']'), "too_deep"},
        {"deep nesting in a field",
         R"({"event":"open","email":"a@example.com","x":)" + std::string(100, '[') +
             std::string(100, ']') + "}",
         "too_deep"},
        // NOTE: no value wins: JSON parsers disagree on which one would (first, last, error), so
        // a body with the same key twice is refused and kept whole for the operator.
        {"duplicate key",
         R"({"event":"delivered","email":"a@example.com","email":"b@example.com"})",
         "duplicate_key"},
        {"duplicate key in another case",
         R"({"event":"delivered","email":"a@example.com","bulkId":"x","BULKID":"y"})",
         "duplicate_key"},
        {"duplicate event", R"({"event":"delivered","event":"bounce","email":"a@example.com"})",
         "duplicate_key"},
    };
}

TEST_F(HostileInput, JsonEdgeCasesAre400WithAReasonAndKept) {
    auto& daemon = start_daemon();
    const auto cases = json_edge_cases();
    raw_connection connection(daemon.port());
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        connection.send(make_post("/callback", c.body));
        const auto response = connection.read_response();
        EXPECT_EQ(response.status, 400u) << response.body;
        const auto answer = json_body(response);
        ASSERT_TRUE(answer.is_object()) << response.body;
        EXPECT_EQ(answer.value("error", ""), c.code) << response.body;
        EXPECT_FALSE(answer.value("detail", "").empty()) << response.body;
    }

    // One rejects line each, with its reason and the body as sent (base64 when it is not UTF-8).
    const auto rejects = wait_for_json_lines(daemon.rejects_path(), cases.size(), 5s);
    ASSERT_EQ(rejects.size(), cases.size());
    for (std::size_t i = 0; i < cases.size(); ++i) {
        SCOPED_TRACE(cases[i].name);
        EXPECT_EQ(rejects[i].value("reason", ""), cases[i].code);
        if (rejects[i].contains("body")) {
            EXPECT_EQ(rejects[i].value("body", ""), cases[i].body);
        } else {
            EXPECT_TRUE(rejects[i].contains("bodyBase64")) << rejects[i].dump();
        }
    }
    EXPECT_TRUE(read_json_lines(daemon.events_path()).empty());

    // Neither the daemon nor the connection suffered.
    connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(connection.read_response().status, 200u);
}

TEST_F(HostileInput, FormatDirectivesInFieldsAndPathsAreTakenAsText) {
    daemon_options options;
    options.log_level = "debug";
    options.sinks_toml = "[[sinks]]\ntype = \"log\"\nname = \"log\"\n";
    auto& daemon = start_daemon(std::move(options));

    // Accepted, with the directives in every logged field and in the query of the target.
    const std::string event_name = "custom" + format_directives;
    const nlohmann::json accepted{{"event", event_name},
                                  {"email", format_directives + "@example.com"},
                                  {"reason", format_directives},
                                  {"bulkId", format_directives}};
    const auto ok =
        send_once(daemon.port(), make_post("/callback?" + format_directives, accepted.dump()));
    EXPECT_EQ(ok.status, 200u) << ok.body;

    // Refused, with the directives in the detail that is logged.
    const std::string custom_key = "X-Tencentcloudses-Cb-" + format_directives;
    const nlohmann::json refused{{"event", "open"}, {"email", "a@example.com"}, {custom_key, 1}};
    const auto bad = send_once(daemon.port(), make_post("/callback", refused.dump()));
    EXPECT_EQ(bad.status, 400u) << bad.body;
    EXPECT_EQ(json_body(bad).value("error", ""), "wrong_type") << bad.body;
    EXPECT_NE(json_body(bad).value("detail", "").find(custom_key), std::string::npos) << bad.body;

    // Unknown paths and malformed requests with the directives in the target.
    EXPECT_EQ(send_once(daemon.port(), make_post("/" + format_directives, "{}")).status, 404u);
    EXPECT_EQ(send_once(daemon.port(), "POST /callback/" + format_directives +
                                           " HTTP/1.1\r\nContent-Length: " + format_directives +
                                           "\r\n\r\n")
                  .status,
              400u);

    // The record holds the text as sent.
    const auto events = wait_for_json_lines(daemon.events_path(), 1, 5s);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].at("payload"), accepted);

    // The log shows the directives verbatim, on ordinary lines: nothing was formatted with them
    // (a billion-character padding would show, as would a crash).
    EXPECT_TRUE(daemon.wait_for_log("[sink:log] " + event_name + " to " + format_directives, 5s));
    EXPECT_TRUE(daemon.wait_for_log("unknown event name '" + event_name + "'", 5s));
    EXPECT_TRUE(daemon.wait_for_log("wrong_type: field '" + custom_key + "'", 5s));
    std::istringstream log(daemon.log_text());
    for (std::string line; std::getline(log, line);) {
        EXPECT_LT(line.size(), 2000u) << line.substr(0, 200);
    }
    EXPECT_EQ(send_once(daemon.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status, 200u);
}

}  // namespace
}  // namespace seshook::testing
