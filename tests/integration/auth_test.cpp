// End to end: who may post. Secrets in the path, the query or HTTP Basic; allowed networks and
// trusted proxies; allowed accounts; the per-client rate limit; and that no secret ever shows in
// the daemon's log or rejects file.

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <string>
#include <vector>

#include "integration/integration_helpers.hpp"

namespace seshook::testing {
namespace {

using namespace std::chrono_literals;
using Auth = daemon_test;

const std::string token_a = "k3J9-xQ2_vL8.tR5~wZ1";
const std::string token_b = "Zm9vYmFyYmF6cXV4cXV1eA";
const std::string token_c = "cccccccccccccccc-env";
// base64 of "tencent:0123456789abcdef"
const std::string basic_header = "Authorization: Basic dGVuY2VudDowMTIzNDU2Nzg5YWJjZGVm\r\n";

daemon_options with_auth(std::string toml, std::string server_toml = "") {
    daemon_options options;
    options.tables_toml = "[auth]\n" + std::move(toml);
    options.server_toml = std::move(server_toml);
    return options;
}

// Returns a valid event of account `username` for recipient number `n`.
std::string event_of_account(std::size_t n, std::string_view username) {
    auto event = nlohmann::ordered_json::parse(sample_event(n));
    event["username"] = username;
    return event.dump();
}

// Stops the daemon with SIGTERM and expects a clean exit, so that its files are complete.
void stop(daemon_process& daemon) {
    daemon.send_signal(SIGTERM);
    const auto code = daemon.wait_exit(30s);
    ASSERT_TRUE(code.has_value()) << "the daemon did not stop";
    EXPECT_EQ(*code, 0);
}

// Expects `response` to be exactly what an unknown path gets: same status, headers and body.
void expect_same_answer(const raw_response& response, const raw_response& unknown,
                        const std::string& why) {
    EXPECT_EQ(response.status, 404u) << why;
    EXPECT_EQ(response.reason, unknown.reason) << why;
    EXPECT_EQ(response.headers, unknown.headers) << why;
    EXPECT_EQ(response.body, unknown.body) << why;
}

TEST_F(Auth, RightTokenInThePathOrTheQueryIsAccepted) {
    auto& daemon = start_daemon(with_auth("tokens = [\"" + token_a + "\"]\n"));
    EXPECT_EQ(send_once(daemon.port(), make_post("/callback/" + token_a, sample_event(1))).status,
              200u);
    EXPECT_EQ(send_once(daemon.port(),
                        make_post("/callback?source=ses&token=" + token_a, sample_event(2)))
                  .status,
              200u);
    const auto records = wait_for_json_lines(daemon.events_path(), 2, 10s);
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0]["payload"].value("email", ""), "user1@example.com");
    EXPECT_EQ(records[1]["payload"].value("email", ""), "user2@example.com");
}

TEST_F(Auth, MissingOrWrongTokenGetsTheAnswerOfAnUnknownPath) {
    auto& daemon = start_daemon(with_auth("tokens = [\"" + token_a + "\"]\n"));
    const auto unknown = send_once(daemon.port(), make_post("/no-such-path", sample_event(1)));
    ASSERT_EQ(unknown.status, 404u);
    for (const std::string& target : std::vector<std::string>{
             "/callback", "/callback/", "/callback/" + token_b, "/callback/" + token_a.substr(1),
             "/callback/" + token_a + "/x", "/callback?token=" + token_b, "/callback?token="}) {
        expect_same_answer(send_once(daemon.port(), make_post(target, sample_event(1))), unknown,
                           target);
    }
    expect_same_answer(
        send_once(daemon.port(), make_post("/callback", sample_event(1), basic_header)), unknown,
        "basic credentials without basic_users");

    // None of them reached the sink: the one accepted event after them is the only record.
    ASSERT_EQ(send_once(daemon.port(), make_post("/callback/" + token_a, sample_event(2))).status,
              200u);
    const auto records = wait_for_json_lines(daemon.events_path(), 1, 10s);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0]["payload"].value("email", ""), "user2@example.com");
    stop(daemon);
    EXPECT_EQ(read_json_lines(daemon.events_path()).size(), 1u);
    EXPECT_TRUE(read_json_lines(daemon.rejects_path()).empty());
}

TEST_F(Auth, TwoTokensAreValidAtOnceForRotation) {
    auto& daemon = start_daemon(with_auth("tokens = [\"" + token_a + "\", \"" + token_b + "\"]\n"));
    EXPECT_EQ(send_once(daemon.port(), make_post("/callback/" + token_a, sample_event(1))).status,
              200u);
    EXPECT_EQ(send_once(daemon.port(), make_post("/callback/" + token_b, sample_event(2))).status,
              200u);
    EXPECT_EQ(wait_for_json_lines(daemon.events_path(), 2, 10s).size(), 2u);
}

TEST_F(Auth, BasicCredentialsAreAccepted) {
    auto& daemon = start_daemon(with_auth("basic_users = [\"tencent:0123456789abcdef\"]\n"));
    EXPECT_EQ(
        send_once(daemon.port(), make_post("/callback", sample_event(1), basic_header)).status,
        200u);
    const auto wrong = send_once(
        daemon.port(),
        make_post("/callback", sample_event(2),
                  "Authorization: Basic dGVuY2VudDowMTIzNDU2Nzg5YWJjZGVn\r\n"));  // ...defg
    EXPECT_EQ(wrong.status, 404u);
    EXPECT_FALSE(wrong.has_header("WWW-Authenticate"));
    EXPECT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(3))).status, 404u);
    EXPECT_EQ(wait_for_json_lines(daemon.events_path(), 1, 10s).size(), 1u);
}

TEST_F(Auth, TokensComeFromATokenFileAndTheEnvironment) {
    const temp_dir secrets;
    std::ofstream(secrets / "tokens") << "# the current token\n" << token_a << "\n\n";
    daemon_options options = with_auth("token_file = \"" + (secrets / "tokens").string() + "\"\n");
    options.environment.push_back("SESHOOK_AUTH_TOKENS=" + token_b + "," + token_c);
    auto& daemon = start_daemon(options);
    std::size_t n = 0;
    for (const std::string& token : {token_a, token_b, token_c}) {
        EXPECT_EQ(
            send_once(daemon.port(), make_post("/callback/" + token, sample_event(++n))).status,
            200u)
            << token;
    }
    EXPECT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(9))).status, 404u);
    EXPECT_EQ(wait_for_json_lines(daemon.events_path(), 3, 10s).size(), 3u);
}

TEST_F(Auth, ClientOutsideTheAllowedNetworksIs403) {
    auto& daemon = start_daemon(with_auth("allow_networks = [\"10.0.0.0/8\", \"::1\"]\n"));
    const auto refused = send_once(daemon.port(), make_post("/callback", sample_event(1)));
    EXPECT_EQ(refused.status, 403u);
    EXPECT_EQ(refused.body, R"({"error":"forbidden","detail":"client address not allowed"})");

    // Load balancers may still ask for health.
    const auto health = send_once(daemon.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(health.status, 200u);
    EXPECT_TRUE(daemon.wait_for_log("client 127.0.0.1 is not in [auth] allow_networks", 5s));

    // Refused clients are scanner noise: the rejects file keeps none of them.
    stop(daemon);
    EXPECT_TRUE(read_json_lines(daemon.rejects_path()).empty());
    EXPECT_TRUE(read_json_lines(daemon.events_path()).empty());
}

TEST_F(Auth, ClientInsideTheAllowedNetworksIsAccepted) {
    auto& daemon = start_daemon(with_auth("allow_networks = [\"127.0.0.0/8\"]\n"));
    EXPECT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(1))).status, 200u);
    EXPECT_EQ(wait_for_json_lines(daemon.events_path(), 1, 10s).size(), 1u);
}

TEST_F(Auth, TrustedProxyNamesTheClient) {
    const std::string auth =
        "trusted_proxies = [\"127.0.0.1\"]\nallow_networks = [\"198.51.100.0/24\"]\n";
    auto& daemon = start_daemon(with_auth(auth));
    const std::string forwarded = "X-Forwarded-For: 203.0.113.9, 198.51.100.7\r\n";

    // From the trusted proxy, the forwarded client counts, and is the record's peer.
    EXPECT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(1), forwarded)).status,
              200u);
    EXPECT_EQ(send_once(daemon.port(),
                        make_post("/callback", sample_event(2), "X-Real-IP: 198.51.100.8\r\n"))
                  .status,
              200u);
    // An outsider behind it is refused, and so is the proxy speaking for itself.
    EXPECT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(3),
                                                 "X-Forwarded-For: 198.51.100.7, 203.0.113.9\r\n"))
                  .status,
              403u);
    EXPECT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(4))).status, 403u);
    const auto records = wait_for_json_lines(daemon.events_path(), 2, 10s);
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].value("peer", ""), "198.51.100.7");
    EXPECT_EQ(records[1].value("peer", ""), "198.51.100.8");
}

TEST_F(Auth, ForwardedForFromAPeerThatIsNoTrustedProxyIsIgnored) {
    // The same proxy is trusted, but the client is ::1, which is not it.
    daemon_options options =
        with_auth("trusted_proxies = [\"127.0.0.1\"]\nallow_networks = [\"198.51.100.0/24\"]\n");
    options.listen = "[::1]:0";
    auto& daemon = start_daemon(options);
    raw_connection from_v6(daemon.port(), "::1");
    from_v6.send(make_post("/callback", sample_event(1), "X-Forwarded-For: 198.51.100.7\r\n"));
    const auto response = from_v6.read_response();
    EXPECT_EQ(response.status, 403u);
    EXPECT_TRUE(daemon.wait_for_log("client ::1 is not in [auth] allow_networks", 5s));
}

TEST_F(Auth, EventsOfUnlistedAccountsAreRefusedAndKept) {
    auto& daemon = start_daemon(with_auth("accounts = [\"1300000001\"]\n"));
    EXPECT_EQ(
        send_once(daemon.port(), make_post("/callback", event_of_account(1, "1300000001"))).status,
        200u);
    const std::string other = event_of_account(2, "251200670");
    const auto refused = send_once(daemon.port(), make_post("/callback", other));
    EXPECT_EQ(refused.status, 403u);
    EXPECT_EQ(json_body(refused).value("error", ""), "account_not_allowed");
    EXPECT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(3))).status, 403u);

    stop(daemon);
    const auto records = read_json_lines(daemon.events_path());
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0]["payload"].value("username", ""), "1300000001");
    const auto rejects = read_json_lines(daemon.rejects_path());
    ASSERT_EQ(rejects.size(), 2u);
    EXPECT_EQ(rejects[0].value("reason", ""), "account_not_allowed");
    EXPECT_EQ(rejects[0].value("body", ""), other);
    EXPECT_EQ(rejects[1].value("body", ""), sample_event(3));
}

TEST_F(Auth, RateLimitAnswers429WithRetryAfterAfterTheBurst) {
    auto& daemon = start_daemon(with_server("rate_limit = 1\nrate_burst = 3"));

    // The burst passes at once; then, well within a few seconds, a request is held back.
    for (std::size_t n = 1; n <= 3; ++n) {
        EXPECT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(n))).status, 200u)
            << n;
    }
    std::optional<raw_response> limited;
    for (std::size_t n = 4; n <= 12 && !limited; ++n) {
        auto response = send_once(daemon.port(), make_post("/callback", sample_event(n)));
        if (response.status == 429u) limited = std::move(response);
    }
    ASSERT_TRUE(limited.has_value()) << "no request was held back";
    EXPECT_EQ(json_body(*limited).value("error", ""), "rate_limited");
    const std::string retry_after = limited->header("Retry-After");
    ASSERT_FALSE(retry_after.empty());
    EXPECT_GE(std::stoi(retry_after), 1);

    // The health check is never held back.
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(send_once(daemon.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status,
                  200u);
    }
}

TEST_F(Auth, TokenNeverShowsInTheLogOrTheRejectsFile) {
    daemon_options options = with_auth(
        "tokens = [\"" + token_a + "\"]\naccounts = [\"1300000001\"]\n", "max_body_bytes = 1024");
    options.log_level = "debug";
    auto& daemon = start_daemon(options);
    const std::string in_path = "/callback/" + token_a;
    const std::string in_query = "/callback?token=" + token_a;

    // Requests that hold the token and fail in every way the daemon can refuse them.
    EXPECT_EQ(send_once(daemon.port(), make_post(in_path, "not json")).status, 400u);
    EXPECT_EQ(send_once(daemon.port(), make_post(in_query, event_of_account(1, "42"))).status,
              403u);
    EXPECT_EQ(send_once(daemon.port(), make_post(in_path, std::string(2048, '['))).status, 413u);
    EXPECT_EQ(send_once(daemon.port(), make_post(in_path + "/extra", sample_event(2))).status,
              404u);
    EXPECT_EQ(send_once(daemon.port(), make_post(in_query + "x&b=1", sample_event(3))).status,
              404u);
    EXPECT_EQ(send_once(daemon.port(), "GET " + in_path + " HTTP/1.1\r\nHost: x\r\n\r\n").status,
              405u);
    EXPECT_EQ(
        send_once(daemon.port(), make_post(in_path, event_of_account(4, "1300000001"))).status,
        200u);

    // The 404s are logged, masked.
    EXPECT_TRUE(daemon.wait_for_log("404 for /callback/<masked> from 127.0.0.1", 5s));
    EXPECT_TRUE(daemon.wait_for_log("404 for /callback?token=<masked>&b=1", 5s));
    stop(daemon);
    const std::string log = daemon.log_text();
    EXPECT_EQ(log.find(token_a), std::string::npos) << log;
    const std::string rejects = read_file(daemon.rejects_path());
    EXPECT_EQ(read_json_lines(daemon.rejects_path()).size(), 3u) << rejects;
    EXPECT_EQ(rejects.find(token_a), std::string::npos) << rejects;
}

TEST_F(Auth, TokenSentToAMistypedPathNeverShowsInTheLog) {
    daemon_options options = with_auth("tokens = [\"" + token_a + "\"]\n");
    options.log_level = "debug";
    auto& daemon = start_daemon(options);

    // The URL given to the SES console with a typo: the token stands where the masking of
    // "/callback/<token>" does not look for it, and the operator turns on debug to see why.
    for (const std::string& target : std::vector<std::string>{
             "/CALLBACK/" + token_a, "//callback/" + token_a, "/ses/callback/" + token_a,
             "/callback;token=" + token_a, "/callback#" + token_a, "/callback?tok=" + token_a}) {
        EXPECT_EQ(send_once(daemon.port(), make_post(target, sample_event(1))).status, 404u)
            << target;
    }

    // Every 404 is logged, none with the token.
    EXPECT_TRUE(daemon.wait_for_log("404 for /callback?tok=<masked>", 5s)) << daemon.log_text();
    stop(daemon);
    const std::string log = daemon.log_text();
    EXPECT_EQ(log.find(token_a), std::string::npos) << log;
}

TEST_F(Auth, StrangersAreAnsweredByTheirHeadAndNothingOfThemIsKept) {
    daemon_options options = with_auth("tokens = [\"" + token_a + "\"]\n", "max_body_bytes = 1024");
    auto& daemon = start_daemon(options);
    const auto unknown = send_once(daemon.port(), make_post("/no-such-path", sample_event(1)));
    ASSERT_EQ(unknown.status, 404u);

    // Without the token, a body too large, not JSON, broken gzip or in another coding, or
    // framing refused once the head is read, gets the 404 of an unknown path: none of it
    // reveals or fills anything. (A head that cannot be parsed at all gets its 400 on any path,
    // so that says nothing about the callback either.)
    const std::vector<std::string> requests{
        make_post("/callback", std::string(4096, '[')),
        make_post("/callback", "not json"),
        make_post("/callback", "not gzip at all", "Content-Encoding: gzip\r\n"),
        make_post("/callback", sample_event(2), "Content-Encoding: br\r\n"),
        "POST /callback HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    };
    for (const std::string& request : requests) {
        expect_same_answer(send_once(daemon.port(), request), unknown, request.substr(0, 80));
    }

    // A stranger asking to send a large body is answered at once, and is not told to go on.
    raw_connection asking(daemon.port());
    asking.send(
        "POST /callback HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        "Content-Length: 100000\r\n\r\n");
    expect_same_answer(asking.read_response(), unknown, "expect 100-continue");
    EXPECT_TRUE(asking.wait_closed(3s));

    // A head that cannot be read at all is answered 400 on any path, and not kept either.
    EXPECT_EQ(send_once(daemon.port(),
                        "POST /callback HTTP/1.1\r\nHost: x\r\n"
                        "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello")
                  .status,
              400u);

    // The same mistakes with the token are refused for what they are, and kept.
    EXPECT_EQ(send_once(daemon.port(), make_post("/callback/" + token_a, "not json")).status, 400u);
    stop(daemon);
    const auto rejects = read_json_lines(daemon.rejects_path());
    ASSERT_EQ(rejects.size(), 1u) << read_file(daemon.rejects_path());
    EXPECT_EQ(rejects[0].value("reason", ""), "invalid_json");
}

TEST_F(Auth, EveryForwardedForLineIsRead) {
    // A proxy that adds its own X-Forwarded-For line instead of extending the client's must not
    // let the client's own line choose the address.
    const std::string auth =
        "trusted_proxies = [\"127.0.0.1\"]\nallow_networks = [\"198.51.100.0/24\"]\n";
    auto& daemon = start_daemon(with_auth(auth));
    const std::string two_lines =
        "X-Forwarded-For: 198.51.100.7\r\nX-Forwarded-For: 203.0.113.9\r\n";
    EXPECT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(1), two_lines)).status,
              403u);
    EXPECT_TRUE(daemon.wait_for_log("client 203.0.113.9 is not in [auth] allow_networks", 5s));
}

TEST_F(Auth, LoopbackWithoutSecretsGivesNoWarning) {
    auto& daemon = start_daemon();
    EXPECT_TRUE(daemon.wait_for_log("[rejects] keeping refused bodies", 5s));
    EXPECT_FALSE(daemon.log_contains("accepts callbacks from anyone"));
}

TEST_F(Auth, StartUpSaysHowManySecretsButShowsNone) {
    auto& daemon = start_daemon(with_auth("tokens = [\"" + token_a + "\", \"" + token_b + "\"]\n"));
    EXPECT_TRUE(daemon.wait_for_log("[auth] callbacks need a secret: 2 tokens, 0 basic users", 5s));
    EXPECT_EQ(daemon.log_text().find(token_a), std::string::npos);
}

TEST_F(Auth, BadTokenStopsTheDaemonWithoutShowingIt) {
    const temp_dir dir;
    std::ofstream(dir / "seshook.toml")
        << "[auth]\ntokens = [\"hunter2-hunter2\"]\n[[sinks]]\ntype = \"log\"\nname = \"log\"\n";
    const auto result =
        run_seshook({"--check-config", "--config", (dir / "seshook.toml").string()}, dir.path());
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.err.find("auth.tokens[0]: must be at least 16 characters"), std::string::npos)
        << result.err;
    EXPECT_EQ((result.out + result.err).find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace seshook::testing
