#include "seshook/http/callback_handler.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <initializer_list>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "seshook/daemon/intakes.hpp"
#include "support/log_capture.hpp"
#include "support/prometheus_text.hpp"
#include "support/recording_sink.hpp"
#include "support/temp_dir.hpp"

namespace seshook {
namespace {

using namespace std::chrono_literals;
namespace http = boost::beast::http;
using seshook::testing::recording_sink;

const std::string ok_body = R"({"ok":true})";
constexpr std::string_view peer = "203.0.113.7";

std::string delivered(std::string_view email, long long timestamp = 1741944612) {
    return nlohmann::json{{"event", "delivered"},
                          {"email", email},
                          {"bulkId", "qcloudses-30-1300000001-date-20250314093000-Xb7kQ2mRt9Lp1"},
                          {"timestamp", timestamp}}
        .dump();
}

std::vector<std::unique_ptr<sink>> one_recording_sink(recording_sink*& out) {
    auto recorder = std::make_unique<recording_sink>();
    out = recorder.get();
    std::vector<std::unique_ptr<sink>> sinks;
    sinks.push_back(std::move(recorder));
    return sinks;
}

// A handler wired to the memory intake of a real dispatcher with a recording sink, a real
// rejects file and, unless dedup is off, the window of recent ids; `auth` and the rate
// limiter's clock `now` are handed to it.
struct harness {
    explicit harness(server_config server_settings = {}, schema_config schema_settings = {},
                     bool dedup = true, const auth_config& auth = {},
                     rate_limiter::now_fn now = &rate_limiter::clock::now)
        : server(std::move(server_settings)),
          schema(schema_settings),
          rejects(dir / "rejects.jsonl"),
          sinks(one_recording_sink(recorder), nullptr),
          recent(std::chrono::hours(24)),
          intake(sinks, dedup ? &recent : nullptr),
          handler(server, schema, intake, rejects, 5s, auth, std::move(now)) {
        rejects.start();
        sinks.start();
    }

    ~harness() {
        sinks.stop(1s);
        rejects.stop();
    }

    // Returns the answer, which the memory intake gives before handle() returns.
    http_answer call(http::verb method, std::string_view target, std::string_view body,
                     std::string_view from = peer) {
        std::optional<http_answer> answer;
        handler.handle(method, target, body, from, [&](http_answer a) { answer = std::move(a); });
        if (!answer) throw std::logic_error("the handler did not answer at once");
        return *answer;
    }

    http_answer post(std::string_view body, std::string_view target = "/callback") {
        return call(http::verb::post, target, body);
    }

    // The same, for a request with all its headers.
    http_answer call(const http_request_info& request) {
        std::optional<http_answer> answer;
        handler.handle(request, [&](http_answer a) { answer = std::move(a); });
        if (!answer) throw std::logic_error("the handler did not answer at once");
        return *answer;
    }

    // Returns the lines of the rejects file, once everything queued was written.
    std::vector<nlohmann::json> rejected() {
        rejects.stop();
        std::vector<nlohmann::json> lines;
        for (const auto& line : seshook::testing::read_lines(rejects.path())) {
            lines.push_back(nlohmann::json::parse(line));
        }
        return lines;
    }

    seshook::testing::temp_dir dir;
    server_config server;
    schema_config schema;
    recording_sink* recorder = nullptr;
    rejects_store rejects;
    dispatcher sinks;
    recent_ids recent;
    memory_intake intake;
    callback_handler handler;
};

nlohmann::json parsed(const http_answer& answer) {
    return nlohmann::json::parse(answer.body, nullptr, false);
}

TEST(CallbackHandler, WrongMethodOnTheCallbackIs405WithAllowPost) {
    harness h;
    for (const auto method : {http::verb::get, http::verb::put, http::verb::delete_}) {
        const auto answer = h.call(method, "/callback", "", peer);
        EXPECT_EQ(answer.status, 405u);
        EXPECT_EQ(answer.allow, "POST");
        EXPECT_FALSE(answer.close);
        EXPECT_EQ(parsed(answer).value("error", ""), "method_not_allowed");
    }
}

TEST(CallbackHandler, UnknownPathIs404AndNotKept) {
    harness h;
    const auto answer = h.post(delivered("user@example.com"), "/callbacks");
    EXPECT_EQ(answer.status, 404u);
    EXPECT_TRUE(answer.allow.empty());
    EXPECT_EQ(parsed(answer).value("error", ""), "not_found");
    EXPECT_TRUE(h.rejected().empty());
    EXPECT_EQ(h.recorder->count(), 0u);
}

TEST(CallbackHandler, HealthzAnswersGetAndHeadOnly) {
    harness h;
    EXPECT_EQ(h.call(http::verb::get, "/healthz", "", peer).status, 200u);
    EXPECT_EQ(h.call(http::verb::get, "/healthz", "", peer).body, ok_body);
    EXPECT_EQ(h.call(http::verb::head, "/healthz?probe=1", "", peer).status, 200u);
    const auto answer = h.call(http::verb::post, "/healthz", "", peer);
    EXPECT_EQ(answer.status, 405u);
    EXPECT_EQ(answer.allow, "GET, HEAD");
}

TEST(CallbackHandler, AcceptedEventIs200AndReachesTheSink) {
    harness h;
    const std::string body = delivered("alice@example.com");
    const auto answer = h.post(body);
    EXPECT_EQ(answer.status, 200u);
    EXPECT_EQ(answer.body, ok_body);
    EXPECT_FALSE(answer.close);

    ASSERT_TRUE(h.recorder->wait_for_count(1, 5s));
    const auto records = h.recorder->records();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].event.raw, body);
    EXPECT_EQ(records[0].event.email, "alice@example.com");
    EXPECT_EQ(records[0].peer, peer);
    EXPECT_EQ(records[0].received_at.size(), std::string("2025-03-14T09:30:12.345Z").size());
    EXPECT_EQ(h.handler.counters().requests_accepted.load(), 1u);
    EXPECT_EQ(h.handler.counters().events_accepted.load(), 1u);
    EXPECT_TRUE(h.rejected().empty());
}

TEST(CallbackHandler, BatchReachesTheSinkAsSeparateRecordsInOrder) {
    harness h;
    const std::string first = delivered("a@example.com");
    const std::string second = delivered("b@example.com");
    EXPECT_EQ(h.post("[" + first + "," + second + "]").status, 200u);

    ASSERT_TRUE(h.recorder->wait_for_count(2, 5s));
    const auto records = h.recorder->records();
    EXPECT_EQ(records[0].event.raw, first);
    EXPECT_EQ(records[1].event.raw, second);
    EXPECT_EQ(h.handler.counters().requests_accepted.load(), 1u);
    EXPECT_EQ(h.handler.counters().events_accepted.load(), 2u);
}

TEST(CallbackHandler, ConfiguredPathWithSecretIsTheOnlyCallback) {
    server_config server;
    server.callback_path = "/ses/9f3b2c7d";
    harness h(server);
    EXPECT_EQ(h.post(delivered("a@example.com"), "/callback").status, 404u);
    EXPECT_EQ(h.post(delivered("a@example.com"), "/ses/9f3b2c7d?from=tencent").status, 200u);
    EXPECT_TRUE(h.recorder->wait_for_count(1, 5s));
}

TEST(CallbackHandler, AbsoluteFormTargetIsRoutedByItsPath) {
    harness h;
    EXPECT_EQ(h.post(delivered("a@example.com"), "http://203.0.113.1:8080/callback?x=1").status,
              200u);
    EXPECT_EQ(h.call(http::verb::get, "HTTPS://example.com/healthz", "").status, 200u);
    EXPECT_EQ(h.post(delivered("b@example.com"), "http://example.com").status, 404u);
}

TEST(CallbackHandler, RefusedBodyIs400AndKeptInRejects) {
    harness h;
    const std::string body = R"({"event":"delivered","email":)";
    const auto answer = h.post(body);
    EXPECT_EQ(answer.status, 400u);
    EXPECT_FALSE(answer.close);
    const auto error = parsed(answer);
    EXPECT_EQ(error.value("error", ""), "invalid_json");
    EXPECT_TRUE(error.contains("detail"));

    const auto lines = h.rejected();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].value("reason", ""), "invalid_json");
    EXPECT_EQ(lines[0].value("peer", ""), peer);
    EXPECT_EQ(lines[0].value("body", ""), body);
    EXPECT_EQ(h.handler.counters().requests_rejected.load(), 1u);
    EXPECT_EQ(h.recorder->count(), 0u);
}

TEST(CallbackHandler, WrongTypeNamesTheFieldInTheAnswer) {
    harness h;
    const auto answer = h.post(R"({"event":"delivered","email":"a@example.com","timestamp":true})");
    EXPECT_EQ(answer.status, 400u);
    const auto error = parsed(answer);
    EXPECT_EQ(error.value("error", ""), "wrong_type");
    EXPECT_NE(error.value("detail", "").find("timestamp"), std::string::npos) << answer.body;
}

TEST(CallbackHandler, UnknownEventIsCountedInLenientAndRefusedInStrict) {
    const std::string body = R"({"event":"processed","email":"a@example.com"})";
    {
        harness lenient;
        EXPECT_EQ(lenient.post(body).status, 200u);
        EXPECT_EQ(lenient.handler.counters().unknown_events.load(), 1u);
        ASSERT_TRUE(lenient.recorder->wait_for_count(1, 5s));
        EXPECT_TRUE(lenient.recorder->records()[0].event.unknown_event);
    }
    schema_config strict_schema;
    strict_schema.mode = schema_mode::strict;
    harness strict({}, strict_schema);
    const auto answer = strict.post(body);
    EXPECT_EQ(answer.status, 400u);
    EXPECT_EQ(parsed(answer).value("error", ""), "unknown_event");
    EXPECT_EQ(strict.rejected().size(), 1u);
}

TEST(CallbackHandler, RefuseUnreadableClosesAndKeepsWhatWasRead) {
    harness h;
    const auto answer =
        h.handler.refuse_unreadable(413, "body_too_large", "body exceeds 1024", peer, "{\"ev");
    EXPECT_EQ(answer.status, 413u);
    EXPECT_TRUE(answer.close);
    EXPECT_EQ(parsed(answer).value("error", ""), "body_too_large");

    const auto lines = h.rejected();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].value("reason", ""), "body_too_large");
    EXPECT_EQ(lines[0].value("body", ""), "{\"ev");
    EXPECT_EQ(h.handler.counters().requests_rejected.load(), 1u);
}

TEST(CallbackHandler, ErrorDetailQuotingThePayloadIsStillValidJson) {
    harness h;
    const auto answer = h.post(R"({"event":"delivered","email":"a@example.com",)"
                               R"("X-Tencentcloudses-Cb-\"quoted\"\n":1})");
    EXPECT_EQ(answer.status, 400u);
    const auto error = parsed(answer);
    ASSERT_FALSE(error.is_discarded()) << answer.body;
    EXPECT_EQ(error.value("error", ""), "wrong_type");
    EXPECT_NE(error.value("detail", "").find("\"quoted\""), std::string::npos) << answer.body;
}

TEST(CallbackHandler, RepeatedEventIs200WithItsCountAndNotDispatchedAgain) {
    harness h;
    const std::string body = delivered("alice@example.com");
    EXPECT_EQ(h.post(body).body, ok_body);
    const auto repeat = h.post(body);
    EXPECT_EQ(repeat.status, 200u);
    EXPECT_EQ(parsed(repeat).value("duplicates", 0), 1);

    // A batch holding it once more and a new event: only the new one goes on.
    const auto batch = h.post("[" + body + "," + delivered("bob@example.com") + "]");
    EXPECT_EQ(parsed(batch).value("duplicates", 0), 1);
    ASSERT_TRUE(h.recorder->wait_for_count(2, 5s));
    h.sinks.stop(1s);
    EXPECT_EQ(h.recorder->count(), 2u);
    EXPECT_EQ(h.handler.counters().duplicate_events.load(), 2u);
    EXPECT_EQ(h.handler.counters().events_accepted.load(), 2u);
}

TEST(CallbackHandler, WithDedupOffEveryRepeatIsDispatched) {
    harness h({}, {}, false);
    const std::string body = delivered("alice@example.com");
    for (int i = 0; i < 3; ++i) EXPECT_EQ(h.post(body).body, ok_body);
    EXPECT_TRUE(h.recorder->wait_for_count(3, 5s));
}

// An intake that answers what the test tells it to, as a full or failing spool would.
class scripted_intake final : public event_intake {
public:
    explicit scripted_intake(intake_result result) : result_(std::move(result)) {}
    void take(std::vector<record_ptr>, done_fn done) override { done(result_); }

private:
    intake_result result_;
};

TEST(CallbackHandler, FullSpoolIs503WithRetryAfterAndKeepsNothing) {
    seshook::testing::temp_dir dir;
    rejects_store rejects(dir / "rejects.jsonl");
    rejects.start();
    scripted_intake full({intake_result::status::full, 0, ""});
    callback_handler handler({}, {}, full, rejects, 7s);

    std::optional<http_answer> answer;
    handler.handle(http::verb::post, "/callback", delivered("a@example.com"), peer,
                   [&](http_answer a) { answer = std::move(a); });
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 503u);
    EXPECT_EQ(answer->retry_after, 7s);
    EXPECT_EQ(parsed(*answer).value("error", ""), "spool_full");
    EXPECT_EQ(handler.counters().requests_deferred.load(), 1u);
    EXPECT_EQ(handler.counters().requests_accepted.load(), 0u);

    // The sender keeps the event and sends it again; a copy in the rejects file would be a
    // second one to replay.
    rejects.stop();
    EXPECT_TRUE(seshook::testing::read_lines(rejects.path()).empty());
}

TEST(CallbackHandler, FailingSpoolIs500SoTheSenderRetries) {
    seshook::testing::temp_dir dir;
    rejects_store rejects(dir / "rejects.jsonl");
    rejects.start();
    scripted_intake failing({intake_result::status::failed, 0, "disk I/O error"});
    callback_handler handler({}, {}, failing, rejects);

    std::optional<http_answer> answer;
    handler.handle(http::verb::post, "/callback", delivered("a@example.com"), peer,
                   [&](http_answer a) { answer = std::move(a); });
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 500u);
    EXPECT_EQ(parsed(*answer).value("error", ""), "spool_failed");
    EXPECT_EQ(answer->retry_after.count(), 0);
    rejects.stop();
}

// ---------------------------------------------------------------------------------------------
// Who may post: secrets, networks, proxies, accounts and the rate limit.

constexpr std::string_view token_a = "k3J9-xQ2_vL8.tR5~wZ1";
constexpr std::string_view token_b = "Zm9vYmFyYmF6cXV4cXV1eA";
// base64 of "tencent:0123456789abcdef", and of the same with a wrong last character.
constexpr std::string_view good_basic = "Basic dGVuY2VudDowMTIzNDU2Nzg5YWJjZGVm";
constexpr std::string_view bad_basic = "Basic dGVuY2VudDowMTIzNDU2Nzg5YWJjZGVn";

auth_config with_tokens(std::initializer_list<std::string_view> tokens) {
    auth_config auth;
    for (const auto token : tokens) auth.tokens.add(token);
    return auth;
}

network_list networks(std::initializer_list<const char*> texts) {
    network_list list;
    for (const char* text : texts) list.add(parse_network(text).value());
    return list;
}

// A request that owns its texts, which http_request_info only views.
struct test_request {
    http::verb method = http::verb::post;
    std::string target;
    std::string body;
    std::string peer;
    std::string authorization;
    std::string forwarded_for;
    std::string real_ip;

    // NOTE: the views live as long as this object; a temporary one lasts for the call.
    operator http_request_info() const {
        return http_request_info{method, target, body, peer, authorization, forwarded_for, real_ip};
    }
};

test_request request_to(std::string target, std::string body = "",
                        std::string from = std::string(peer)) {
    test_request request;
    request.target = std::move(target);
    request.body = std::move(body);
    request.peer = std::move(from);
    return request;
}

// Expects `answer` to be the very answer of an unknown path.
void expect_like_unknown_path(const http_answer& answer, const std::string& why) {
    const http_answer unknown{404, R"({"error":"not_found","detail":"no such path"})"};
    EXPECT_EQ(answer.status, unknown.status) << why;
    EXPECT_EQ(answer.body, unknown.body) << why;
    EXPECT_EQ(answer.allow, unknown.allow) << why;
    EXPECT_EQ(answer.retry_after, unknown.retry_after) << why;
    EXPECT_EQ(answer.close, unknown.close) << why;
}

// A clock for the rate limiter that moves only when the test moves it.
struct manual_clock {
    rate_limiter::clock::time_point now{std::chrono::hours(1)};
    rate_limiter::now_fn fn() {
        return [this] { return now; };
    }
};

TEST(CallbackHandlerAuth, TokenInPathOrQueryReachesTheSink) {
    harness h({}, {}, true, with_tokens({token_a}));
    const std::string path_target = "/callback/" + std::string(token_a);
    const std::string query_target = "/callback?a=1&token=" + std::string(token_a) + "&b=2";
    EXPECT_EQ(h.post(delivered("a@example.com"), path_target).status, 200u);
    EXPECT_EQ(h.post(delivered("b@example.com"), query_target).status, 200u);
    EXPECT_EQ(h.post(delivered("c@example.com"), "http://h:8080" + path_target).status, 200u);
    ASSERT_TRUE(h.recorder->wait_for_count(3, 5s));
    EXPECT_EQ(h.recorder->records()[0].event.email, "a@example.com");
    EXPECT_EQ(h.recorder->records()[1].event.email, "b@example.com");
}

TEST(CallbackHandlerAuth, MissingOrWrongTokenIsTheSame404AsAnUnknownPath) {
    harness h({}, {}, true, with_tokens({token_a}));
    const std::string t(token_a);
    for (const std::string& target : std::vector<std::string>{
             "/callback", "/callback/", "/callback/wrong-but-long-enough-token",
             "/callback/" + t + "/more", "/callback/" + t.substr(0, t.size() - 1),
             "/callback/" + t + "x", "/callback?token=" + t.substr(1),
             "/callback?token=", "/callback?Token=" + t, "/callback?tok=" + t, "/callbacks/" + t,
             "/" + t, "/callback/x?token=" + t + "&y", "/callback?token=wrong&token=" + t}) {
        expect_like_unknown_path(h.post(delivered("a@example.com"), target), target);
    }

    // Basic credentials are no help when only tokens are configured.
    auto request = request_to("/callback", delivered("a@example.com"));
    request.authorization = good_basic;
    expect_like_unknown_path(h.call(request), "basic without basic users");

    EXPECT_EQ(h.recorder->count(), 0u);
    EXPECT_EQ(h.handler.counters().requests_not_found.load(), 15u);
    EXPECT_TRUE(h.rejected().empty());
}

TEST(CallbackHandlerAuth, CallbackPathEndingInASlashTakesTheTokenAfterIt) {
    server_config server;
    server.callback_path = "/hooks/";
    harness h(server, {}, true, with_tokens({token_a}));
    EXPECT_EQ(h.post(delivered("a@example.com"), "/hooks/" + std::string(token_a)).status, 200u);
    EXPECT_EQ(h.post(delivered("b@example.com"), "/hooks/?token=" + std::string(token_a)).status,
              200u);
    expect_like_unknown_path(h.post(delivered("c@example.com"), "/hooks//" + std::string(token_a)),
                             "two slashes");
    expect_like_unknown_path(h.post(delivered("c@example.com"), "/hooks/"), "no token");
}

TEST(CallbackHandlerAuth, EveryConfiguredTokenIsValidForRotation) {
    harness h({}, {}, true, with_tokens({token_a, token_b}));
    EXPECT_EQ(h.post(delivered("a@example.com"), "/callback/" + std::string(token_a)).status, 200u);
    EXPECT_EQ(h.post(delivered("b@example.com"), "/callback?token=" + std::string(token_b)).status,
              200u);
    ASSERT_TRUE(h.recorder->wait_for_count(2, 5s));
}

TEST(CallbackHandlerAuth, BasicCredentialsAreAnAlternative) {
    auth_config auth = with_tokens({token_a});
    auth.basic_users.add("tencent:0123456789abcdef");
    harness h({}, {}, true, auth);

    const std::string body = delivered("a@example.com");
    auto request = request_to("/callback", body);
    request.authorization = good_basic;
    EXPECT_EQ(h.call(request).status, 200u);

    request.authorization = bad_basic;
    expect_like_unknown_path(h.call(request), "wrong password");
    request.authorization = "Bearer " + std::string(token_a);
    expect_like_unknown_path(h.call(request), "another scheme");

    // Either method passes: a good token with wrong credentials too.
    const std::string with_token = "/callback?token=" + std::string(token_a);
    auto both = request_to(with_token, delivered("b@example.com"));
    both.authorization = bad_basic;
    EXPECT_EQ(h.call(both).status, 200u);
    ASSERT_TRUE(h.recorder->wait_for_count(2, 5s));
}

TEST(CallbackHandlerAuth, OnlyBasicUsersKeepsThePlainPath) {
    auth_config auth;
    auth.basic_users.add("tencent:0123456789abcdef");
    harness h({}, {}, true, auth);
    auto request = request_to("/callback", delivered("a@example.com"));
    expect_like_unknown_path(h.call(request), "no credentials");
    request.authorization = good_basic;
    EXPECT_EQ(h.call(request).status, 200u);

    // Without tokens there is no token segment: the path is unknown, credentials or not.
    auto segment = request_to("/callback/" + std::string(token_a), delivered("b@example.com"));
    segment.authorization = good_basic;
    expect_like_unknown_path(h.call(segment), "segment without tokens");
}

TEST(CallbackHandlerAuth, WrongMethodIs405OnlyWithTheSecret) {
    harness h({}, {}, true, with_tokens({token_a}));
    const auto with_token = h.call(http::verb::get, "/callback/" + std::string(token_a), "", peer);
    EXPECT_EQ(with_token.status, 405u);
    EXPECT_EQ(with_token.allow, "POST");
    expect_like_unknown_path(h.call(http::verb::get, "/callback", "", peer), "GET, no token");
}

TEST(CallbackHandlerAuth, HealthzStaysOpenToAll) {
    auth_config auth = with_tokens({token_a});
    auth.allow_networks = networks({"192.0.2.0/24"});
    server_config server;
    server.rate_limit = 1;
    server.rate_burst = 1;
    manual_clock clock;
    harness h(server, {}, true, auth, clock.fn());
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(h.call(http::verb::get, "/healthz", "", "198.51.100.1").status, 200u) << i;
    }
}

TEST(CallbackHandlerAuth, ClientOutsideTheAllowedNetworksIs403AndNotKept) {
    auth_config auth = with_tokens({token_a});
    auth.allow_networks = networks({"192.0.2.0/24", "2001:db8::/32"});
    harness h({}, {}, true, auth);
    const std::string target = "/callback/" + std::string(token_a);

    testing::log_capture log;
    const auto answer = h.call(request_to(target, delivered("a@example.com"), "198.51.100.1"));
    EXPECT_EQ(answer.status, 403u);
    EXPECT_EQ(answer.body, R"({"error":"forbidden","detail":"client address not allowed"})");
    // Unknown paths too: outsiders learn nothing about what exists.
    EXPECT_EQ(h.call(request_to("/nothing", "", "198.51.100.1")).status, 403u);

    // Inside: IPv4, an IPv4-mapped peer of a dual-stack listener, and IPv6.
    EXPECT_EQ(h.call(request_to(target, delivered("b@example.com"), "192.0.2.9")).status, 200u);
    EXPECT_EQ(h.call(request_to(target, delivered("c@example.com"), "::ffff:192.0.2.9")).status,
              200u);
    EXPECT_EQ(h.call(request_to(target, delivered("d@example.com"), "2001:db8::9")).status, 200u);
    ASSERT_TRUE(h.recorder->wait_for_count(3, 5s));
    EXPECT_EQ(h.handler.counters().requests_forbidden.load(), 2u);

    // Logged at warn, once a second at most, with the token masked; never kept.
    const std::string text = log.text();
    EXPECT_NE(text.find("warning [auth] client 198.51.100.1 is not in [auth] allow_networks"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("/callback/<masked>"), std::string::npos) << text;
    EXPECT_EQ(text.find(token_a), std::string::npos) << text;
    EXPECT_TRUE(h.rejected().empty());
}

TEST(CallbackHandlerAuth, TrustedProxyNamesTheClient) {
    auth_config auth;
    auth.allow_networks = networks({"198.51.100.0/24"});
    auth.trusted_proxies = networks({"10.0.0.0/8"});
    harness h({}, {}, true, auth);

    // Through the proxy, the forwarded address is the client, in the record too.
    auto via_proxy = request_to("/callback", delivered("a@example.com"), "10.0.0.5");
    via_proxy.forwarded_for = "203.0.113.66, 198.51.100.1";
    EXPECT_EQ(h.call(via_proxy).status, 200u);
    auto real_ip = request_to("/callback", delivered("b@example.com"), "10.0.0.5");
    real_ip.real_ip = "198.51.100.2";
    EXPECT_EQ(h.call(real_ip).status, 200u);
    ASSERT_TRUE(h.recorder->wait_for_count(2, 5s));
    EXPECT_EQ(h.recorder->records()[0].peer, "198.51.100.1");
    EXPECT_EQ(h.recorder->records()[1].peer, "198.51.100.2");

    // An outsider behind the proxy is refused, and so is the proxy itself.
    auto outsider = request_to("/callback", delivered("c@example.com"), "10.0.0.5");
    outsider.forwarded_for = "198.51.100.1, 203.0.113.66";
    EXPECT_EQ(h.call(outsider).status, 403u);
    EXPECT_EQ(h.call(request_to("/callback", delivered("c@example.com"), "10.0.0.5")).status, 403u);

    // From a peer that is no trusted proxy, the headers are ignored.
    auto forged = request_to("/callback", delivered("d@example.com"), "203.0.113.66");
    forged.forwarded_for = "198.51.100.1";
    forged.real_ip = "198.51.100.1";
    EXPECT_EQ(h.call(forged).status, 403u);
}

std::string from_account(std::string_view email, std::optional<std::string_view> username) {
    nlohmann::json event = nlohmann::json::parse(delivered(email));
    if (username) event["username"] = *username;
    return event.dump();
}

TEST(CallbackHandlerAuth, EventsOfUnlistedAccountsAre403AndKept) {
    auth_config auth;
    auth.accounts = {"1300000001", "251200670"};
    harness h({}, {}, true, auth);

    EXPECT_EQ(h.post(from_account("a@example.com", "1300000001")).status, 200u);
    EXPECT_EQ(h.post("[" + from_account("b@example.com", "251200670") + "," +
                     from_account("c@example.com", "1300000001") + "]")
                  .status,
              200u);
    ASSERT_TRUE(h.recorder->wait_for_count(3, 5s));

    const std::string other = from_account("d@example.com", "999");
    const auto refused = h.post(other);
    EXPECT_EQ(refused.status, 403u);
    EXPECT_EQ(parsed(refused).value("error", ""), "account_not_allowed");
    EXPECT_EQ(parsed(refused).value("detail", ""), "account '999' is not in [auth] accounts");

    const std::string missing = from_account("e@example.com", std::nullopt);
    EXPECT_EQ(parsed(h.post(missing)).value("error", ""), "account_not_allowed");

    // One event of another account refuses the whole batch, naming the element.
    const std::string batch = "[" + from_account("f@example.com", "1300000001") + "," +
                              from_account("g@example.com", "42") + "]";
    const auto batch_answer = h.post(batch);
    EXPECT_EQ(batch_answer.status, 403u);
    EXPECT_EQ(parsed(batch_answer).value("detail", ""),
              "element 1: account '42' is not in [auth] accounts");

    // Each is kept with its body, to be replayed once the list is fixed.
    const auto lines = h.rejected();
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0].value("reason", ""), "account_not_allowed");
    EXPECT_EQ(lines[0].value("body", ""), other);
    EXPECT_EQ(lines[1].value("body", ""), missing);
    EXPECT_EQ(lines[2].value("body", ""), batch);
    EXPECT_EQ(h.recorder->count(), 3u);
}

TEST(CallbackHandlerAuth, RateLimitAnswers429WithRetryAfterAfterTheBurst) {
    server_config server;
    server.rate_limit = 1;
    server.rate_burst = 2;
    manual_clock clock;
    harness h(server, {}, true, {}, clock.fn());

    EXPECT_EQ(h.post(delivered("a@example.com")).status, 200u);
    EXPECT_EQ(h.post(delivered("b@example.com")).status, 200u);
    const auto limited = h.post(delivered("c@example.com"));
    EXPECT_EQ(limited.status, 429u);
    EXPECT_EQ(limited.retry_after, 1s);
    EXPECT_EQ(parsed(limited).value("error", ""), "rate_limited");

    // Other paths count too; other clients have their own bucket; time brings a token back.
    EXPECT_EQ(h.call(http::verb::get, "/unknown", "", peer).status, 429u);
    EXPECT_EQ(h.call(request_to("/callback", delivered("d@example.com"), "192.0.2.1")).status,
              200u);
    clock.now += 1s;
    EXPECT_EQ(h.post(delivered("e@example.com")).status, 200u);
    EXPECT_EQ(h.post(delivered("f@example.com")).status, 429u);
    EXPECT_EQ(h.handler.counters().requests_rate_limited.load(), 3u);
    ASSERT_TRUE(h.recorder->wait_for_count(4, 5s));
    EXPECT_TRUE(h.rejected().empty());
}

TEST(CallbackHandlerAuth, RateLimitCountsTheClientBehindATrustedProxy) {
    server_config server;
    server.rate_limit = 1;
    server.rate_burst = 1;
    auth_config auth;
    auth.trusted_proxies = networks({"10.0.0.0/8"});
    manual_clock clock;
    harness h(server, {}, true, auth, clock.fn());

    for (const char* client : {"198.51.100.1", "198.51.100.2"}) {
        auto request =
            request_to("/callback", delivered(std::string(client) + "@example.com"), "10.0.0.5");
        request.forwarded_for = client;
        EXPECT_EQ(h.call(request).status, 200u) << client;
        EXPECT_EQ(h.call(request).status, 429u) << client;
    }
}

TEST(CallbackHandlerAuth, UnreadableRequestOfAForbiddenPeerIsRefusedAndNotKept) {
    auth_config auth;
    auth.allow_networks = networks({"192.0.2.0/24"});
    harness h({}, {}, true, auth);
    const auto answer =
        h.handler.refuse_unreadable(413, "body_too_large", "body exceeds 1024", peer, "{\"ev");
    EXPECT_EQ(answer.status, 403u);
    EXPECT_TRUE(answer.close);
    const auto allowed = h.handler.refuse_unreadable(413, "body_too_large", "body exceeds 1024",
                                                     "192.0.2.1", "{\"ev");
    EXPECT_EQ(allowed.status, 413u);
    EXPECT_EQ(h.rejected().size(), 1u);
}

TEST(CallbackHandlerAuth, TokenNeverShowsInLogsAnswersOrRejects) {
    auth_config auth = with_tokens({token_a});
    auth.accounts = {"1300000001"};
    harness h({}, {}, true, auth);
    const std::string t(token_a);

    testing::log_capture log;
    std::vector<http_answer> answers;
    answers.push_back(h.post("not json", "/callback/" + t));
    answers.push_back(h.post(from_account("a@example.com", "7"), "/callback?token=" + t));
    answers.push_back(h.post(delivered("a@example.com"), "/callback/" + t + "x"));
    answers.push_back(h.post(delivered("a@example.com"), "/callback?token=" + t + "x&b=1"));
    answers.push_back(h.call(http::verb::get, "/callback/" + t, "", peer));

    EXPECT_EQ(answers[0].status, 400u);
    EXPECT_EQ(answers[1].status, 403u);
    for (const auto& answer : answers) EXPECT_EQ(answer.body.find(t), std::string::npos);
    const std::string text = log.text();
    EXPECT_EQ(text.find(t), std::string::npos) << text;
    EXPECT_NE(text.find("404 for /callback/<masked>"), std::string::npos) << text;
    EXPECT_NE(text.find("404 for /callback?token=<masked>&b=1"), std::string::npos) << text;
    EXPECT_EQ(h.rejected().size(), 2u);
    EXPECT_EQ(seshook::testing::read_file(h.rejects.path()).find(t), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// The operations endpoints on the callback listeners, and the reasons answers are counted by.

// The metrics and readiness of a handler, as the daemon wires them.
struct operations_harness {
    explicit operations_harness(harness& h, bool serve_metrics = true) {
        ready.set_listening();
        handler_operations operations;
        operations.metrics = &metrics;
        operations.pages = &pages;
        operations.serve_metrics = serve_metrics;
        h.handler.use_operations(operations);
    }

    seshook::testing::prometheus_text scrape() const {
        return seshook::testing::prometheus_text(out.text());
    }

    exposition out;
    endpoint_metrics metrics{out};
    readiness ready;
    status_pages pages{out, ready};
};

TEST(CallbackHandlerOperations, MetricsAreServedToAnyoneWhoMayPostWhenNoSecretIsRequired) {
    harness h;
    operations_harness ops(h);
    const auto answer = h.call(http::verb::get, "/metrics", "");
    EXPECT_EQ(answer.status, 200u);
    EXPECT_EQ(answer.content_type, "text/plain; version=0.0.4");
    EXPECT_EQ(answer.reason, answer_reason::metrics);
    EXPECT_NO_THROW(seshook::testing::prometheus_text{answer.body});
    EXPECT_NE(answer.body.find("seshook_http_requests_total"), std::string::npos);
}

TEST(CallbackHandlerOperations, WithSecretsMetricsNeedOneOrAreAnUnknownPath) {
    harness h({}, {}, true, with_tokens({token_a}));
    operations_harness ops(h);

    // No secret, a wrong one, a token in the path: the 404 of an unknown path, head or whole.
    const std::string wrong = "/metrics?token=wrong-token-0123456789";
    for (const std::string& target :
         {std::string("/metrics"), wrong, "/metrics/" + std::string(token_a)}) {
        auto request = request_to(target);
        request.method = http::verb::get;
        ASSERT_TRUE(h.handler.screen(request)) << target;
        expect_like_unknown_path(*h.handler.screen(request), target);
        expect_like_unknown_path(h.call(request), target);
    }

    // The token in the query, or Basic credentials of a configured user, open it.
    auto with_token = request_to("/metrics?token=" + std::string(token_a));
    with_token.method = http::verb::get;
    EXPECT_FALSE(h.handler.screen(with_token));
    EXPECT_EQ(h.call(with_token).status, 200u);
}

TEST(CallbackHandlerOperations, WithAMetricsListenerMetricsAreAnUnknownPathHere) {
    harness h;
    operations_harness ops(h, false);
    expect_like_unknown_path(h.call(http::verb::get, "/metrics", ""), "metrics listener set");
    EXPECT_EQ(h.call(http::verb::get, "/readyz", "").status, 200u);
}

TEST(CallbackHandlerOperations, ReadyzAnswersAnyoneLikeHealthz) {
    auth_config auth = with_tokens({token_a});
    auth.allow_networks = networks({"192.0.2.0/24"});  // the test's peer is not in it
    harness h({}, {}, true, auth);
    operations_harness ops(h);
    auto request = request_to("/readyz");
    request.method = http::verb::get;
    EXPECT_FALSE(h.handler.screen(request));
    EXPECT_EQ(h.call(request).status, 200u);

    ops.ready.set_draining();
    const auto draining = h.call(request);
    EXPECT_EQ(draining.status, 503u);
    EXPECT_EQ(parsed(draining)["detail"], "draining");

    // The metrics stay closed to the stranger.
    auto metrics = request_to("/metrics?token=" + std::string(token_a));
    metrics.method = http::verb::get;
    EXPECT_EQ(h.call(metrics).status, 403u);
}

TEST(CallbackHandlerOperations, AnswersNameTheirReasonAndRepeatsAreCounted) {
    harness h;
    operations_harness ops(h);
    EXPECT_EQ(h.post(delivered("a@example.com")).reason, answer_reason::accepted);
    EXPECT_EQ(h.post(delivered("a@example.com")).reason, answer_reason::duplicate);
    EXPECT_EQ(h.post("not json").reason, answer_reason::invalid_json);
    EXPECT_EQ(h.post(R"({"event":"delivered"})").reason, answer_reason::missing_field);
    EXPECT_EQ(h.call(http::verb::get, "/callback", "").reason, answer_reason::method_not_allowed);
    EXPECT_EQ(h.call(http::verb::get, "/nope", "").reason, answer_reason::not_found);
    EXPECT_EQ(h.call(http::verb::get, "/healthz", "").reason, answer_reason::healthz);
    EXPECT_EQ(h.handler.refuse_unreadable(413, "body_too_large", "too big", peer, "").reason,
              answer_reason::body_too_large);

    const auto text = ops.scrape();
    EXPECT_EQ(text.value("seshook_duplicate_events_total"), 1);
}

}  // namespace
}  // namespace seshook

namespace seshook {
namespace {

TEST(CallbackHandlerUpdate, NewTokensReplaceTheOldOnesForTheNextRequest) {
    harness h({}, {}, true, with_tokens({token_a}));
    const std::string old_target = "/callback/" + std::string(token_a);
    const std::string new_target = "/callback/" + std::string(token_b);
    ASSERT_EQ(h.post(delivered("a@example.com"), old_target).status, 200u);

    h.handler.update(h.server, h.schema, 5s, with_tokens({token_b}));

    expect_like_unknown_path(h.post(delivered("b@example.com"), old_target), "old token");
    EXPECT_EQ(h.post(delivered("c@example.com"), new_target).status, 200u);
}

TEST(CallbackHandlerUpdate, AnUnchangedRateLimitKeepsWhatClientsHaveUsed) {
    server_config server;
    server.rate_limit = 1;
    server.rate_burst = 1;
    manual_clock clock;
    harness h(server, {}, true, {}, clock.fn());
    ASSERT_EQ(h.post(delivered("a@example.com")).status, 200u);

    // The same limit: the client's bucket is still empty.
    h.handler.update(server, h.schema, 5s, {});
    EXPECT_EQ(h.post(delivered("b@example.com")).status, 429u);

    // A new limit starts afresh; none lets every request through.
    server.rate_burst = 2;
    h.handler.update(server, h.schema, 5s, {});
    EXPECT_EQ(h.post(delivered("c@example.com")).status, 200u);
    server.rate_limit = 0;
    server.rate_burst = 0;
    h.handler.update(server, h.schema, 5s, {});
    for (int i = 0; i < 5; ++i) EXPECT_EQ(h.post(delivered("d@example.com")).status, 200u);
}

TEST(CallbackHandlerUpdate, TheNewSchemaModeAndCallbackPathApply) {
    harness h;
    const std::string digits =
        R"({"event":"delivered","email":"a@example.com","timestamp":"1717251879"})";
    ASSERT_EQ(h.post(digits).status, 200u);

    server_config server;
    server.callback_path = "/ses";
    schema_config strict;
    strict.mode = schema_mode::strict;
    h.handler.update(server, strict, 5s, {});

    EXPECT_EQ(h.post(digits, "/ses").status, 400u);
    EXPECT_EQ(h.post(delivered("b@example.com"), "/callback").status, 404u);
    EXPECT_EQ(h.handler.masked_target("/ses/0123456789abcdef0123"), "/ses/<masked>");
}

}  // namespace
}  // namespace seshook
