#include "seshook/sinks/forward_sink.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>

#include "support/log_capture.hpp"
#include "support/recording_sink.hpp"
#include "support/temp_dir.hpp"
#include "support/tiny_http_receiver.hpp"
#include "support/webhook_check.hpp"

namespace seshook {
namespace {

using namespace std::chrono_literals;
using testing::make_test_record;
using testing::read_lines;
using testing::received_request;
using testing::receiver_reply;
using testing::temp_dir;
using testing::tiny_http_receiver;
using testing::tls_authority;

// Generous bounds: they catch a hang, not a slow machine.
constexpr auto patience = 5s;

std::int64_t unix_seconds_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

class ForwardSink : public ::testing::Test {
protected:
    // Small timeouts and backoff keep the retrying cases fast.
    forward_options options_for(const tiny_http_receiver& receiver) const {
        forward_options options;
        options.url = receiver.url("/ses/events");
        options.timeout = 2s;
        options.max_attempts = 3;
        options.backoff_initial = 10ms;
        options.backoff_max = 40ms;
        options.dead_letter_path = dir_ / "var" / "dead-letter.jsonl";
        return options;
    }

    // Returns the dead-letter lines, once the sink has closed its file.
    std::vector<nlohmann::json> dead_letters(forward_sink& sink) const {
        sink.close();
        std::vector<nlohmann::json> lines;
        for (const auto& line : read_lines(dir_ / "var" / "dead-letter.jsonl")) {
            lines.push_back(nlohmann::json::parse(line));
        }
        return lines;
    }

    temp_dir dir_;
};

TEST_F(ForwardSink, ForwardsTheOriginalBytesWithItsHeaders) {
    tiny_http_receiver receiver;
    auto options = options_for(receiver);
    options.headers = {{"Authorization", "Bearer downstream-token"}, {"X-Tenant", "mail"}};
    forward_sink sink("downstream", {}, options);
    sink.open();
    auto r = make_test_record("bounce", "user@example.com", 1654064683, "550 mailbox unavailable");
    r.event.raw = "{ \"event\" : \"bounce\",\"email\":\"user@example.com\",\"n\":1.50 }";

    EXPECT_EQ(sink.consume(r, {}), delivery_outcome::delivered);

    const auto requests = receiver.requests();
    ASSERT_EQ(requests.size(), 1);
    const auto& request = requests.front();
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.target, "/ses/events");
    EXPECT_EQ(request.body, r.event.raw);
    EXPECT_EQ(request.header("X-Seshook-Id"), r.event.id);
    EXPECT_EQ(request.header("X-Seshook-Event"), "bounce");
    EXPECT_EQ(request.header("Authorization"), "Bearer downstream-token");
    EXPECT_EQ(request.header("X-Tenant"), "mail");
    EXPECT_EQ(sink.counters().delivered, 1);
    EXPECT_TRUE(dead_letters(sink).empty());
}

TEST_F(ForwardSink, KeepsTheConnectionAcrossEvents) {
    tiny_http_receiver receiver;
    forward_sink sink("downstream", {}, options_for(receiver));
    sink.open();

    for (const char* event : {"delivered", "open", "click"}) {
        EXPECT_EQ(sink.consume(make_test_record(event), {}), delivery_outcome::delivered);
    }

    EXPECT_EQ(receiver.request_count(), 3);
    EXPECT_EQ(receiver.connection_count(), 1);
}

TEST_F(ForwardSink, RetriesUntilTheDownstreamRecovers) {
    tiny_http_receiver receiver(tiny_http_receiver::answer_in_turn({503, 503, 200}));
    forward_sink sink("downstream", {}, options_for(receiver));
    sink.open();
    const auto r = make_test_record();

    EXPECT_EQ(sink.consume(r, {}), delivery_outcome::delivered);

    const auto requests = receiver.requests();
    ASSERT_EQ(requests.size(), 3);
    for (const auto& request : requests) {
        EXPECT_EQ(request.body, r.event.raw);
        EXPECT_EQ(request.header("X-Seshook-Id"), r.event.id);
    }
    EXPECT_TRUE(dead_letters(sink).empty());
}

TEST_F(ForwardSink, RetriesTooManyRequests) {
    tiny_http_receiver receiver(tiny_http_receiver::answer_in_turn({429, 200}));
    forward_sink sink("downstream", {}, options_for(receiver));
    sink.open();

    EXPECT_EQ(sink.consume(make_test_record(), {}), delivery_outcome::delivered);
    EXPECT_EQ(receiver.request_count(), 2);
}

TEST_F(ForwardSink, SkipsInterimAnswersAndKeepsEachAttemptWithItsOwnAnswer) {
    tiny_http_receiver receiver([](const received_request&, std::size_t) {
        receiver_reply reply;
        reply.raw =
            "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
            R"({"ok":true})";
        return reply;
    });
    forward_sink sink("downstream", {}, options_for(receiver));
    sink.open();

    for (const char* event : {"delivered", "open", "click", "bounce"}) {
        EXPECT_EQ(sink.consume(make_test_record(event), {}), delivery_outcome::delivered) << event;
    }

    EXPECT_EQ(receiver.request_count(), 4);
    EXPECT_EQ(receiver.connection_count(), 1);
    EXPECT_EQ(sink.counters().delivered, 4);
    EXPECT_EQ(sink.counters().dead_lettered, 0);
    EXPECT_TRUE(dead_letters(sink).empty());
}

TEST_F(ForwardSink, DeadLettersAfterMaxAttemptsWithTheLastError) {
    tiny_http_receiver receiver([](const received_request&, std::size_t index) {
        receiver_reply reply;
        reply.status = 500;
        reply.body = "database down, try " + std::to_string(index + 1);
        return reply;
    });
    forward_sink sink("downstream", {}, options_for(receiver));
    sink.open();
    const auto r = make_test_record("deferred");

    EXPECT_EQ(sink.consume(r, {}), delivery_outcome::dead_lettered);

    EXPECT_EQ(receiver.request_count(), 3);
    EXPECT_EQ(sink.counters().dead_lettered, 1);
    const auto lines = dead_letters(sink);
    ASSERT_EQ(lines.size(), 1);
    const auto& line = lines.front();
    EXPECT_EQ(line["sink"], "downstream");
    EXPECT_EQ(line["id"], r.event.id);
    EXPECT_EQ(line["event"], "deferred");
    EXPECT_EQ(line["attempts"], 3);
    EXPECT_NE(line["error"].get<std::string>().find("500"), std::string::npos) << line;
    EXPECT_NE(line["error"].get<std::string>().find("try 3"), std::string::npos) << line;
    EXPECT_TRUE(line["time"].is_string());
    EXPECT_EQ(line["record"], nlohmann::json::parse(r.to_json_line()));
}

TEST_F(ForwardSink, DeadLettersAClientErrorWithoutRetrying) {
    tiny_http_receiver receiver(tiny_http_receiver::answer_always(400));
    forward_sink sink("downstream", {}, options_for(receiver));
    sink.open();

    EXPECT_EQ(sink.consume(make_test_record(), {}), delivery_outcome::dead_lettered);

    EXPECT_EQ(receiver.request_count(), 1);
    const auto lines = dead_letters(sink);
    ASSERT_EQ(lines.size(), 1);
    EXPECT_EQ(lines.front()["attempts"], 1);
    EXPECT_NE(lines.front()["error"].get<std::string>().find("400"), std::string::npos);
}

TEST_F(ForwardSink, KeepsTheDownstreamFromForgingLogLines) {
    // The answer's body tries to start log lines of its own, and is longer than a log line
    // should carry.
    const std::string forged = "oops\n2026-06-01 12:00:00.000 [critical] FORGED\r\nerror FORGED";
    tiny_http_receiver receiver([&](const received_request&, std::size_t) {
        receiver_reply reply;
        reply.status = 500;
        reply.body = forged + std::string(400, 'y');
        return reply;
    });
    auto options = options_for(receiver);
    options.max_attempts = 2;
    forward_sink sink("downstream", {}, options);
    sink.open();
    testing::log_capture logs;

    EXPECT_EQ(sink.consume(make_test_record(), {}), delivery_outcome::dead_lettered);

    // One warning for the failed attempt, one error for the dead letter, each on one line.
    const auto lines = logs.lines();
    ASSERT_EQ(lines.size(), 2) << logs.text();
    EXPECT_EQ(lines[0].rfind("warning [sink:downstream] attempt 1/2", 0), 0) << lines[0];
    EXPECT_EQ(lines[1].rfind("error [sink:downstream] event ", 0), 0) << lines[1];
    for (const auto& line : lines) {
        EXPECT_NE(line.find(R"(oops\x0a2026-06-01)"), std::string::npos) << line;
        EXPECT_NE(line.find(R"(FORGED\x0d\x0aerror FORGED)"), std::string::npos) << line;
        EXPECT_LT(line.size(), 400) << line;
    }

    // The dead-letter file keeps the body as it came, escaped by JSON.
    const auto dead = dead_letters(sink);
    ASSERT_EQ(dead.size(), 1);
    EXPECT_NE(dead.front()["error"].get<std::string>().find(forged), std::string::npos);
}

TEST_F(ForwardSink, DeadLettersWhenTheDownstreamNeverAnswers) {
    tiny_http_receiver receiver(tiny_http_receiver::never_answer());
    auto options = options_for(receiver);
    options.timeout = 200ms;
    options.max_attempts = 2;
    forward_sink sink("downstream", {}, options);
    sink.open();

    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(sink.consume(make_test_record(), {}), delivery_outcome::dead_lettered);
    EXPECT_LT(std::chrono::steady_clock::now() - started, patience);

    EXPECT_EQ(receiver.request_count(), 2);
    const auto lines = dead_letters(sink);
    ASSERT_EQ(lines.size(), 1);
    EXPECT_EQ(lines.front()["attempts"], 2);
    EXPECT_NE(lines.front()["error"].get<std::string>().find("timed out"), std::string::npos);
}

TEST_F(ForwardSink, DeadLettersWhenTheDownstreamIsUnreachable) {
    std::string url;
    {
        tiny_http_receiver gone;
        url = gone.url();
    }
    forward_options options;
    options.url = url;
    options.max_attempts = 2;
    options.backoff_initial = 10ms;
    options.dead_letter_path = dir_ / "var" / "dead-letter.jsonl";
    forward_sink sink("downstream", {}, options);
    sink.open();

    EXPECT_EQ(sink.consume(make_test_record(), {}), delivery_outcome::dead_lettered);

    const auto lines = dead_letters(sink);
    ASSERT_EQ(lines.size(), 1);
    EXPECT_NE(lines.front()["error"].get<std::string>().find("connect"), std::string::npos);
}

TEST_F(ForwardSink, IsInterruptedWithoutDeadLetteringWhenStoppedDuringBackoff) {
    tiny_http_receiver receiver(tiny_http_receiver::answer_always(503));
    auto options = options_for(receiver);
    options.max_attempts = 10;
    options.backoff_initial = 60s;
    options.backoff_max = 60s;
    forward_sink sink("downstream", {}, options);
    sink.open();
    std::stop_source stop;
    std::jthread stopper([&] {
        receiver.wait_for_requests(1, patience);
        std::this_thread::sleep_for(50ms);
        stop.request_stop();
    });

    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(sink.consume(make_test_record(), stop.get_token()), delivery_outcome::interrupted);
    EXPECT_LT(std::chrono::steady_clock::now() - started, patience + 1s);

    // The caller keeps the event for the next start; a dead letter would deliver it nowhere.
    EXPECT_TRUE(dead_letters(sink).empty());
}

TEST_F(ForwardSink, EncodesAnEventNameAHeaderCannotCarry) {
    tiny_http_receiver receiver;
    forward_sink sink("downstream", {}, options_for(receiver));
    sink.open();
    auto r = make_test_record("opened\r\nX-Forged: 1");

    EXPECT_EQ(sink.consume(r, {}), delivery_outcome::delivered);

    ASSERT_EQ(receiver.request_count(), 1);
    const auto request = receiver.requests().front();
    EXPECT_EQ(request.header("X-Seshook-Event"), "opened%0D%0AX-Forged: 1");
    EXPECT_FALSE(request.has_header("X-Forged"));
}

TEST_F(ForwardSink, SignsEveryAttemptUnderTheSameIdSoTheReceiverCanVerifyIt) {
    tiny_http_receiver receiver(tiny_http_receiver::answer_in_turn({503, 200}));
    auto options = options_for(receiver);
    options.signing_secret = testing::random_signing_secret();
    forward_sink sink("downstream", {}, options);
    sink.open();
    const auto r = make_test_record("bounce");

    const auto before = unix_seconds_now();
    EXPECT_EQ(sink.consume(r, {}), delivery_outcome::delivered);
    const auto after = unix_seconds_now();

    // Each attempt is signed over its own timestamp, and verifies as the receiver checks it.
    const auto requests = receiver.requests();
    ASSERT_EQ(requests.size(), 2);
    for (const auto& request : requests) {
        EXPECT_EQ(request.header("webhook-id"), r.event.id);
        const auto timestamp = request.header("webhook-timestamp");
        ASSERT_FALSE(timestamp.empty());
        EXPECT_GE(std::stoll(timestamp), before);
        EXPECT_LE(std::stoll(timestamp), after);
        EXPECT_EQ(
            request.header("webhook-signature"),
            testing::expected_webhook_signature(
                options.signing_secret, request.header("webhook-id"), timestamp, request.body));
    }
}

TEST_F(ForwardSink, SignsTheExactBytesItSends) {
    tiny_http_receiver receiver;
    auto options = options_for(receiver);
    options.signing_secret = testing::random_signing_secret();
    forward_sink sink("downstream", {}, options);
    sink.open();
    auto r = make_test_record("open");
    r.event.raw = "{ \"event\":\"open\" ,\"email\":\"caf\xc3\xa9@example.com\", \"n\": 1.50 }";

    EXPECT_EQ(sink.consume(r, {}), delivery_outcome::delivered);

    ASSERT_EQ(receiver.request_count(), 1);
    const auto request = receiver.requests().front();
    EXPECT_EQ(request.body, r.event.raw);
    EXPECT_EQ(
        request.header("webhook-signature"),
        testing::expected_webhook_signature(options.signing_secret, r.event.id,
                                            request.header("webhook-timestamp"), r.event.raw));
    EXPECT_NE(
        request.header("webhook-signature"),
        testing::expected_webhook_signature(testing::random_signing_secret(), r.event.id,
                                            request.header("webhook-timestamp"), r.event.raw));
}

TEST_F(ForwardSink, SendsNoSignatureWithoutASecret) {
    tiny_http_receiver receiver;
    forward_sink sink("downstream", {}, options_for(receiver));
    sink.open();

    EXPECT_EQ(sink.consume(make_test_record(), {}), delivery_outcome::delivered);

    ASSERT_EQ(receiver.request_count(), 1);
    const auto request = receiver.requests().front();
    for (const char* name : {"webhook-id", "webhook-timestamp", "webhook-signature"}) {
        EXPECT_FALSE(request.has_header(name)) << name;
    }
}

TEST_F(ForwardSink, KeepsItsOwnSignatureHeadersOverConfiguredOnes) {
    tiny_http_receiver receiver;
    auto options = options_for(receiver);
    options.signing_secret = testing::random_signing_secret();
    options.headers = {{"Webhook-Signature", "v1,forged"}, {"webhook-id", "forged"}};
    forward_sink sink("downstream", {}, options);
    sink.open();
    const auto r = make_test_record();

    EXPECT_EQ(sink.consume(r, {}), delivery_outcome::delivered);

    ASSERT_EQ(receiver.request_count(), 1);
    const auto request = receiver.requests().front();
    std::size_t signatures = 0;
    for (const auto& [name, value] : request.headers) {
        if (name == "webhook-signature" || name == "Webhook-Signature") ++signatures;
        EXPECT_EQ(value.find("forged"), std::string::npos) << name;
    }
    EXPECT_EQ(signatures, 1);
    EXPECT_EQ(request.header("webhook-id"), r.event.id);
}

TEST_F(ForwardSink, RefusesAMalformedSecretWithoutShowingIt) {
    tiny_http_receiver receiver;
    auto options = options_for(receiver);
    options.signing_secret = "whsec_c2hvcnQtYnV0LXNlY3JldA==";  // 19 bytes
    try {
        forward_sink sink("downstream", {}, options);
        ADD_FAILURE() << "a 19-byte key was accepted";
    } catch (const std::invalid_argument& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find("signing_secret"), std::string::npos) << message;
        EXPECT_NE(message.find("at least 24 bytes"), std::string::npos) << message;
        EXPECT_EQ(message.find("c2hvcnQ"), std::string::npos) << message;
    }
}

TEST_F(ForwardSink, DeliversToAServerOfAPrivateAuthorityItTrusts) {
    const auto authority = tls_authority::create();
    tiny_http_receiver receiver(authority.issue({"127.0.0.1"}));
    auto options = options_for(receiver);
    options.ca_pem = authority.certificate_pem;
    options.ca_file = dir_ / "private-ca.pem";
    forward_sink sink("downstream", {}, options);
    testing::log_capture logs;
    sink.open();

    EXPECT_EQ(sink.consume(make_test_record(), {}), delivery_outcome::delivered);

    EXPECT_EQ(receiver.request_count(), 1);
    EXPECT_NE(logs.text().find("info [sink:downstream] trusting only the certificate "
                               "authorities in " +
                               (dir_ / "private-ca.pem").string()),
              std::string::npos)
        << logs.text();
    EXPECT_TRUE(dead_letters(sink).empty());
}

TEST_F(ForwardSink, DeadLettersAServerWhoseCertificateTheSystemDoesNotTrust) {
    const auto authority = tls_authority::create();
    tiny_http_receiver receiver(authority.issue({"127.0.0.1"}));
    auto options = options_for(receiver);
    options.max_attempts = 2;
    forward_sink sink("downstream", {}, options);
    sink.open();

    EXPECT_EQ(sink.consume(make_test_record(), {}), delivery_outcome::dead_lettered);

    EXPECT_EQ(receiver.request_count(), 0);
    const auto lines = dead_letters(sink);
    ASSERT_EQ(lines.size(), 1);
    EXPECT_EQ(lines.front()["attempts"], 2);
    const auto error = lines.front()["error"].get<std::string>();
    EXPECT_EQ(error.rfind("tls handshake: ", 0), 0) << error;
    EXPECT_NE(error.find("unable to get local issuer certificate"), std::string::npos) << error;
}

TEST_F(ForwardSink, DeadLettersATrustedCertificateForAnotherHost) {
    const auto authority = tls_authority::create();
    tiny_http_receiver receiver(authority.issue({"crm.example.com"}));
    auto options = options_for(receiver);
    options.max_attempts = 1;
    options.ca_pem = authority.certificate_pem;
    forward_sink sink("downstream", {}, options);
    sink.open();

    EXPECT_EQ(sink.consume(make_test_record(), {}), delivery_outcome::dead_lettered);

    EXPECT_EQ(receiver.request_count(), 0);
    const auto lines = dead_letters(sink);
    ASSERT_EQ(lines.size(), 1);
    const auto error = lines.front()["error"].get<std::string>();
    EXPECT_NE(error.find("IP address mismatch"), std::string::npos) << error;
}

TEST_F(ForwardSink, WarnsAtOpenWhenItDoesNotVerifyAndThenAcceptsAnyCertificate) {
    const auto authority = tls_authority::create();
    tiny_http_receiver receiver(authority.issue({"crm.example.com"}));
    auto options = options_for(receiver);
    options.verify_tls = false;
    forward_sink sink("downstream", {}, options);
    testing::log_capture logs;
    sink.open();

    EXPECT_EQ(sink.consume(make_test_record(), {}), delivery_outcome::delivered);

    EXPECT_EQ(receiver.request_count(), 1);
    const auto lines = logs.lines();
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines.front().rfind("warning [sink:downstream] verify_tls = false: the "
                                  "certificate of 127.0.0.1 is not checked",
                                  0),
              0)
        << logs.text();
}

TEST_F(ForwardSink, RefusesAUrlThatIsNotHttp) {
    forward_options options;
    options.url = "ftp://example.com/events";
    EXPECT_THROW(forward_sink("downstream", {}, options), std::invalid_argument);
}

}  // namespace
}  // namespace seshook
