// End to end: the forward sink against a real HTTP receiver run by the test.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/integration_helpers.hpp"
#include "support/temp_dir.hpp"
#include "support/tiny_http_receiver.hpp"
#include "support/webhook_check.hpp"

namespace seshook::testing {
namespace {

using namespace std::chrono_literals;
using std::chrono::steady_clock;
using Forwarding = daemon_test;

// A forward sink "downstream" to `url`, with fast retries unless `extra` says otherwise.
std::string forward_sink_toml(const std::string& url, const std::string& extra = {}) {
    return "[[sinks]]\n"
           "type = \"forward\"\n"
           "name = \"downstream\"\n"
           "url = \"" +
           url +
           "\"\n"
           "headers = { Authorization = \"Bearer test-token\" }\n"
           "dead_letter_path = \"{dir}/dead-letter.jsonl\"\n" +
           (extra.empty() ? std::string("timeout = \"2s\"\nmax_attempts = 10\n"
                                        "backoff_initial = \"20ms\"\nbackoff_max = \"100ms\"\n")
                          : extra);
}

// Fast retries, a couple of attempts, then `keys`: the extra lines of a forward sink table.
std::string quick_attempts(const std::string& keys, unsigned attempts = 2) {
    return "timeout = \"2s\"\nmax_attempts = " + std::to_string(attempts) +
           "\nbackoff_initial = \"20ms\"\nbackoff_max = \"50ms\"\n" + keys;
}

// Writes `text` to `path` and returns the line `key = "path"` for a config.
std::string file_key(const std::string& key, const std::filesystem::path& path,
                     const std::string& text) {
    std::ofstream(path) << text;
    return key + " = \"" + path.string() + "\"\n";
}

TEST_F(Forwarding, DownstreamGetsTheOriginalBytesWithIdAndEventHeaders) {
    tiny_http_receiver receiver;
    auto& daemon = start_daemon(with_sinks(forward_sink_toml(receiver.url("/hook"))));

    // One event laid out as no serializer would, then a batch of two.
    const std::string single =
        "{ \"event\" : \"open\",\"email\":\"Carol@Example.com\" , \"timestamp\":1743581322,"
        "\"subject\":\"caf\\u00e9 \xe2\x98\x95\",\"eventid\":4 }";
    const std::string first = sample_event(1);
    const std::string second =
        "{\"email\": \"user2@example.com\", \"event\": \"bounce\", "
        "\"bounceType\": \"soft_bounce\", \"timestamp\": 1654064683}";
    ASSERT_EQ(send_once(daemon.port(), make_post("/callback", single)).status, 200u);
    ASSERT_EQ(send_once(daemon.port(), make_post("/callback", "[" + first + ",\n  " + second + "]"))
                  .status,
              200u);

    // Each arrives on its own, byte for byte, in order.
    ASSERT_TRUE(receiver.wait_for_requests(3, 10s)) << receiver.request_count();
    const auto requests = receiver.requests();
    ASSERT_EQ(requests.size(), 3u);
    EXPECT_EQ(requests[0].body, single);
    EXPECT_EQ(requests[1].body, first);
    EXPECT_EQ(requests[2].body, second);

    // With the configured header and seshook's own: the event's id and type.
    const auto records = wait_for_json_lines(daemon.events_path(), 3, 5s);
    ASSERT_EQ(records.size(), 3u);
    const std::vector<std::string> types{"open", "delivered", "bounce"};
    for (std::size_t i = 0; i < requests.size(); ++i) {
        EXPECT_EQ(requests[i].method, "POST");
        EXPECT_EQ(requests[i].target, "/hook");
        EXPECT_EQ(requests[i].header("Authorization"), "Bearer test-token");
        EXPECT_EQ(requests[i].header("X-Seshook-Event"), types[i]);
        EXPECT_EQ(requests[i].header("X-Seshook-Id"), records[i].at("id").get<std::string>());
    }
    EXPECT_TRUE(read_json_lines(daemon.dir() / "dead-letter.jsonl").empty());
}

TEST_F(Forwarding, DownstreamThatFailsFirstAndRecoversGetsEveryEvent) {
    constexpr std::size_t failures = 4;
    constexpr std::size_t count = 10;
    tiny_http_receiver receiver(tiny_http_receiver::answer_in_turn({503, 503, 502, 503, 200}));
    auto& daemon = start_daemon(with_sinks(forward_sink_toml(receiver.url("/hook"))));

    for (std::size_t i = 0; i < count; ++i) {
        ASSERT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(i))).status, 200u);
    }

    // The requests after the failing ones carry every event.
    std::set<std::string> delivered;
    const auto deadline = steady_clock::now() + 15s;
    while (delivered.size() < count && steady_clock::now() < deadline) {
        receiver.wait_for_requests(failures + delivered.size() + 1, 200ms);
        const auto requests = receiver.requests();
        delivered.clear();
        for (std::size_t i = failures; i < requests.size(); ++i) delivered.insert(requests[i].body);
    }
    EXPECT_EQ(delivered.size(), count);
    for (std::size_t i = 0; i < count; ++i) EXPECT_TRUE(delivered.count(sample_event(i))) << i;
    EXPECT_TRUE(read_json_lines(daemon.dir() / "dead-letter.jsonl").empty());
    EXPECT_TRUE(read_json_lines(daemon.rejects_path()).empty());
}

TEST_F(Forwarding, ClientErrorIsDeadLetteredWithoutRetries) {
    tiny_http_receiver receiver(tiny_http_receiver::answer_always(400));
    auto& daemon = start_daemon(with_sinks(forward_sink_toml(receiver.url("/hook"))));
    ASSERT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(1))).status, 200u);

    const auto dead = wait_for_json_lines(daemon.dir() / "dead-letter.jsonl", 1, 10s);
    ASSERT_EQ(dead.size(), 1u);
    EXPECT_EQ(dead[0].value("attempts", 0), 1);
    EXPECT_NE(dead[0].value("error", "").find("400"), std::string::npos) << dead[0].dump();
    EXPECT_EQ(dead[0].at("record").at("payload"), nlohmann::json::parse(sample_event(1)));
    EXPECT_EQ(receiver.request_count(), 1u);
}

TEST_F(Forwarding, SilentDownstreamNeitherSlowsTheAnswersNorLosesEvents) {
    constexpr std::size_t count = 50;
    tiny_http_receiver receiver(tiny_http_receiver::never_answer());
    auto options = with_sinks(forward_sink_toml(receiver.url("/hook"),
                                                "timeout = \"300ms\"\nmax_attempts = 2\n"
                                                "backoff_initial = \"20ms\"\n"
                                                "backoff_max = \"50ms\"\nqueue_capacity = 10\n"));
    options.server_toml = R"(shutdown_grace = "1s")";
    // NOTE: in memory mode, where a full queue and a shutdown hand events to the rejects file;
    // with a spool they stay there for the next start (see crash_test).
    options.tables_toml = "[spool]\ndurability = \"memory\"\n";
    auto& daemon = start_daemon(std::move(options));

    // Every answer comes promptly, whatever the downstream does.
    raw_connection connection(daemon.port());
    auto slowest = steady_clock::duration::zero();
    for (std::size_t i = 0; i < count; ++i) {
        const auto started = steady_clock::now();
        connection.send(make_post("/callback", sample_event(i)));
        EXPECT_EQ(connection.read_response().status, 200u) << i;
        slowest = std::max(slowest, steady_clock::now() - started);
    }
    EXPECT_LT(slowest, 2s);
    EXPECT_EQ(wait_for_json_lines(daemon.events_path(), count, 5s).size(), count);

    // Stop; what the forward sink could not deliver is dead-lettered or kept as a reject.
    daemon.send_signal(SIGTERM);
    ASSERT_EQ(daemon.wait_exit(15s), 0);
    std::map<std::string, std::size_t> kept;  // body -> times kept
    for (const auto& line : read_json_lines(daemon.dir() / "dead-letter.jsonl")) {
        ++kept[line.at("record").at("payload").dump()];
    }
    for (const auto& line : read_json_lines(daemon.rejects_path())) {
        EXPECT_NE(line.value("detail", "").find("downstream"), std::string::npos) << line.dump();
        ++kept[nlohmann::json::parse(line.value("body", "null")).dump()];
    }
    for (std::size_t i = 0; i < count; ++i) {
        EXPECT_EQ(kept[nlohmann::json::parse(sample_event(i)).dump()], 1u) << "event " << i;
    }
    EXPECT_TRUE(daemon.log_contains("queue full"));

    // The file sink, unaffected, has every event.
    EXPECT_EQ(read_json_lines(daemon.events_path()).size(), count);
}

TEST_F(Forwarding, SignedEventsVerifyAndKeepTheirIdAcrossRetries) {
    const temp_dir keys;
    const auto secret = random_signing_secret();
    tiny_http_receiver receiver(tiny_http_receiver::answer_in_turn({503, 502, 200}));
    auto& daemon = start_daemon(with_sinks(forward_sink_toml(
        receiver.url("/hook"),
        quick_attempts(file_key("signing_secret_file", keys / "crm.whsec", secret + "\n"), 3))));
    const std::string body = sample_event(7);
    ASSERT_EQ(send_once(daemon.port(), make_post("/callback", body)).status, 200u);

    // Three attempts of the one event, each signed over its own timestamp, as a receiver that
    // holds the secret checks them.
    ASSERT_TRUE(receiver.wait_for_requests(3, 10s)) << receiver.request_count();
    const auto requests = receiver.requests();
    const auto id = expected_id(nlohmann::json::parse(body));
    long long previous = 0;
    for (const auto& request : requests) {
        EXPECT_EQ(request.body, body);
        EXPECT_EQ(request.header("webhook-id"), id);
        EXPECT_EQ(request.header("X-Seshook-Id"), id);
        const auto timestamp = request.header("webhook-timestamp");
        ASSERT_FALSE(timestamp.empty());
        EXPECT_GE(std::stoll(timestamp), previous);
        previous = std::stoll(timestamp);
        EXPECT_EQ(request.header("webhook-signature"),
                  expected_webhook_signature(secret, request.header("webhook-id"), timestamp,
                                             request.body));
    }
    EXPECT_TRUE(daemon.log_contains("[sink:downstream] signing every request"));
    EXPECT_FALSE(daemon.log_contains(secret.substr(6, 12)));
}

TEST_F(Forwarding, HttpsDownstreamOfAPrivateCaIsTrustedThroughTheCaFile) {
    const temp_dir files;
    const auto authority = tls_authority::create();
    tiny_http_receiver receiver(authority.issue({"127.0.0.1"}));
    auto& daemon = start_daemon(with_sinks(forward_sink_toml(
        receiver.url("/hook"),
        quick_attempts(file_key("ca_file", files / "ca.pem", authority.certificate_pem)))));

    ASSERT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(1))).status, 200u);

    ASSERT_TRUE(receiver.wait_for_requests(1, 10s));
    EXPECT_EQ(receiver.requests().front().body, sample_event(1));
    EXPECT_TRUE(
        daemon.log_contains("[sink:downstream] trusting only the certificate "
                            "authorities in " +
                            (files / "ca.pem").string()));
    EXPECT_FALSE(daemon.log_contains("verify_tls = false"));
}

TEST_F(Forwarding, HttpsDownstreamOfAPrivateCaIsDeadLetteredWithoutTheCaFile) {
    const auto authority = tls_authority::create();
    tiny_http_receiver receiver(authority.issue({"127.0.0.1"}));
    auto& daemon =
        start_daemon(with_sinks(forward_sink_toml(receiver.url("/hook"), quick_attempts(""))));

    ASSERT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(1))).status, 200u);

    const auto dead = wait_for_json_lines(daemon.dir() / "dead-letter.jsonl", 1, 10s);
    ASSERT_EQ(dead.size(), 1u);
    const auto error = dead[0].value("error", "");
    EXPECT_EQ(error.rfind("tls handshake: ", 0), 0) << error;
    EXPECT_NE(error.find("unable to get local issuer certificate"), std::string::npos) << error;
    EXPECT_EQ(dead[0].at("record").at("payload"), nlohmann::json::parse(sample_event(1)));
    EXPECT_EQ(receiver.request_count(), 0u);
}

TEST_F(Forwarding, HttpsDownstreamWithACertificateForAnotherHostIsRefused) {
    const temp_dir files;
    const auto authority = tls_authority::create();
    tiny_http_receiver receiver(authority.issue({"crm.example.com", "127.0.0.2"}));
    auto& daemon = start_daemon(with_sinks(forward_sink_toml(
        receiver.url("/hook"),
        quick_attempts(file_key("ca_file", files / "ca.pem", authority.certificate_pem)))));

    ASSERT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(1))).status, 200u);

    const auto dead = wait_for_json_lines(daemon.dir() / "dead-letter.jsonl", 1, 10s);
    ASSERT_EQ(dead.size(), 1u);
    EXPECT_NE(dead[0].value("error", "").find("IP address mismatch"), std::string::npos)
        << dead[0].dump();
    EXPECT_EQ(receiver.request_count(), 0u);
}

TEST_F(Forwarding, VerifyTlsOffDeliversToAnyCertificateAndWarnsNamingTheSink) {
    const auto authority = tls_authority::create();
    tiny_http_receiver receiver(authority.issue({"crm.example.com"}));
    auto& daemon = start_daemon(with_sinks(
        forward_sink_toml(receiver.url("/hook"), quick_attempts("verify_tls = false\n"))));

    ASSERT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(1))).status, 200u);

    ASSERT_TRUE(receiver.wait_for_requests(1, 10s));
    EXPECT_TRUE(
        daemon.log_contains(" warning [sink:downstream] verify_tls = false: the "
                            "certificate of 127.0.0.1 is not checked"))
        << daemon.log_text();
}

TEST_F(Forwarding, BadSigningSecretOrCaFileStopsTheDaemonNamingTheKey) {
    const temp_dir dir;
    const auto start_with = [&](const std::string& keys) {
        std::ofstream(dir / "seshook.toml")
            << "[server]\nlisten = \"127.0.0.1:0\"\n[spool]\ndurability = \"memory\"\n"
            << forward_sink_toml("https://127.0.0.1:9/hook", quick_attempts(keys));
        return run_seshook({"--config", (dir / "seshook.toml").string()}, dir.path());
    };

    // A key of 16 bytes: too short, and never printed.
    const std::string weak = "whsec_dG9vLXNob3J0LXNlY3JldA==";
    auto result = start_with("signing_secret = \"" + weak + "\"\n");
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("sinks[0].signing_secret: must decode to a key of at least 24"),
              std::string::npos)
        << result.err;
    EXPECT_EQ((result.out + result.err).find("dG9vLXNob3J0"), std::string::npos) << result.err;

    // A CA file that is not there.
    result = start_with("ca_file = \"" + (dir / "missing-ca.pem").string() + "\"\n");
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("sinks[0].ca_file: cannot read " + (dir / "missing-ca.pem").string() +
                              ": No such file or directory"),
              std::string::npos)
        << result.err;
}

}  // namespace
}  // namespace seshook::testing
