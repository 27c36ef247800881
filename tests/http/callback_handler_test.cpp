#include "seshook/http/callback_handler.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "seshook/daemon/intakes.hpp"
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
// rejects file and, unless dedup is off, the window of recent ids.
struct harness {
    explicit harness(server_config server_settings = {}, schema_config schema_settings = {},
                     bool dedup = true)
        : server(std::move(server_settings)),
          schema(schema_settings),
          rejects(dir / "rejects.jsonl"),
          sinks(one_recording_sink(recorder), nullptr),
          recent(std::chrono::hours(24)),
          intake(sinks, dedup ? &recent : nullptr),
          handler(server, schema, intake, rejects) {
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

}  // namespace
}  // namespace seshook
