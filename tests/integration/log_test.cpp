// End to end: the log in json format, and the access log.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <sstream>
#include <string>
#include <vector>

#include "integration/integration_helpers.hpp"

namespace seshook::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using Logs = daemon_test;

constexpr std::string_view token = "secret-token-0123456789abcdef";

// Returns every line of the daemon's output.
std::vector<std::string> lines_of(const daemon_process& daemon) {
    std::vector<std::string> lines;
    std::istringstream in(daemon.log_text());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// Runs a daemon with a token and the given [log] lines, sends it requests of every kind (an
// event, an unknown event name with a quote in it, a refused body, a wrong token, a token in
// the query), then stops it.
void run_requests(daemon_process& daemon) {
    const std::string with_token = "/callback/" + std::string(token);
    EXPECT_EQ(send_once(daemon.port(), make_post(with_token, sample_event(1))).status, 200u);
    const std::string quoted = R"({"event":"quo\"ted","email":"a@example.com","bulkId":"b",)"
                               R"("timestamp":1717251879})";
    EXPECT_EQ(send_once(daemon.port(), make_post(with_token, quoted)).status, 200u);
    EXPECT_EQ(send_once(daemon.port(), make_post(with_token, R"({"event":"bounce"})")).status,
              400u);
    EXPECT_EQ(
        send_once(daemon.port(), make_post("/callback/wrong-token-0123456789abcdef", "{}")).status,
        404u);
    EXPECT_EQ(send_once(daemon.port(),
                        make_post("/callback?token=" + std::string(token), sample_event(2)))
                  .status,
              200u);
    daemon.send_signal(SIGTERM);
    EXPECT_EQ(daemon.wait_exit(15s), 0);
}

daemon_options logging(std::string log_toml) {
    daemon_options options;
    options.log_toml = std::move(log_toml);
    options.tables_toml = "[auth]\ntokens = [\"" + std::string(token) + "\"]\n";
    return options;
}

TEST_F(Logs, JsonFormatWritesEveryLineAsJson) {
    auto& daemon = start_daemon(logging("format = \"json\"\naccess = true"));
    run_requests(daemon);

    // Every line parses, with the four fields; quotes in a message survive as they were.
    const auto lines = lines_of(daemon);
    ASSERT_GT(lines.size(), 5u);
    bool saw_quote = false;
    bool saw_reject = false;
    for (const auto& line : lines) {
        const auto parsed = nlohmann::json::parse(line, nullptr, false);
        ASSERT_TRUE(parsed.is_object()) << line;
        for (const char* key : {"time", "level", "component", "message"}) {
            EXPECT_TRUE(parsed.contains(key)) << key << " missing in " << line;
        }
        EXPECT_TRUE(is_rfc3339_utc_ms(parsed.value("time", ""))) << line;
        const std::string message = parsed.value("message", "");
        saw_quote = saw_quote || message.find("unknown event name 'quo\"ted'") != std::string::npos;
        saw_reject = saw_reject || (parsed.value("component", "") == "http" &&
                                    message.find("rejected callback") != std::string::npos);
    }
    EXPECT_TRUE(saw_quote);
    EXPECT_TRUE(saw_reject);
}

TEST_F(Logs, JsonAccessLinesHaveFieldsAndMaskedTargets) {
    auto& daemon = start_daemon(logging("format = \"json\"\naccess = true"));
    run_requests(daemon);

    std::vector<nlohmann::json> access;
    for (const auto& line : lines_of(daemon)) {
        auto parsed = nlohmann::json::parse(line, nullptr, false);
        if (parsed.is_object() && parsed.value("component", "") == "access") {
            access.push_back(std::move(parsed));
        }
    }
    ASSERT_EQ(access.size(), 5u);
    const std::vector<unsigned> statuses{200, 200, 400, 404, 200};
    const std::vector<std::string> outcomes{"ok", "ok", "missing_field", "not_found", "ok"};
    for (std::size_t i = 0; i < access.size(); ++i) {
        EXPECT_EQ(access[i]["status"], statuses[i]);
        EXPECT_EQ(access[i]["method"], "POST");
        EXPECT_EQ(access[i]["peer"], "127.0.0.1");
        EXPECT_THAT(access[i]["target"].get<std::string>(), HasSubstr("<masked>"));
        EXPECT_TRUE(access[i]["duration_ms"].is_number());
        EXPECT_TRUE(access[i]["body_bytes"].is_number());
        EXPECT_EQ(access[i]["outcome"], outcomes[i]) << access[i].dump();
    }
    EXPECT_EQ(access[0]["target"], "/callback/<masked>");
    EXPECT_EQ(access[4]["target"], "/callback?token=<masked>");
    EXPECT_EQ(access[3]["body_bytes"], 0);  // judged by its head: the body was not read
    EXPECT_EQ(access[0]["body_bytes"], sample_event(1).size());
    EXPECT_EQ(daemon.log_text().find(token), std::string::npos);
    EXPECT_EQ(daemon.log_text().find("wrong-token"), std::string::npos);
}

TEST_F(Logs, TextAccessLinesShowMaskedTargetsAndNoSecret) {
    auto& daemon = start_daemon(logging("access = true"));
    run_requests(daemon);

    EXPECT_TRUE(daemon.log_contains("[access] 127.0.0.1 POST /callback/<masked> 200 "));
    EXPECT_TRUE(daemon.log_contains("[access] 127.0.0.1 POST /callback/<masked> 404 0 bytes"));
    EXPECT_TRUE(daemon.log_contains("[access] 127.0.0.1 POST /callback?token=<masked> 200 "));
    EXPECT_EQ(daemon.log_text().find(token), std::string::npos);
}

TEST_F(Logs, NoAccessLinesByDefault) {
    auto& daemon = start_daemon(logging(""));
    run_requests(daemon);
    EXPECT_FALSE(daemon.log_contains("[access]"));
}

}  // namespace
}  // namespace seshook::testing
