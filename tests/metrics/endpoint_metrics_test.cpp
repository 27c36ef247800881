#include "seshook/metrics/endpoint_metrics.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "support/prometheus_text.hpp"

namespace seshook {
namespace {

using namespace std::chrono_literals;
using testing::prometheus_text;

constexpr std::string_view requests = "seshook_http_requests_total";

struct endpoint_harness {
    prometheus_text scrape() const { return prometheus_text(out.text()); }

    exposition out;
    endpoint_metrics metrics{out};
};

TEST(EndpointMetrics, ShowsTheUsualAnswersAtZeroBeforeAnyRequest) {
    const endpoint_harness h;
    const auto text = h.scrape();
    EXPECT_EQ(text.value(requests, {{"code", "200"}, {"reason", "accepted"}}), 0);
    EXPECT_EQ(text.value(requests, {{"code", "404"}, {"reason", "not_found"}}), 0);
    EXPECT_EQ(text.value(requests, {{"code", "413"}, {"reason", "body_too_large"}}), 0);
    EXPECT_EQ(text.value(requests, {{"code", "503"}, {"reason", "spool_full"}}), 0);
    EXPECT_EQ(text.value("seshook_rejected_total", {{"reason", "invalid_json"}}), 0);
    EXPECT_EQ(text.value("seshook_events_accepted_total", {{"type", "bounce"}}), 0);
    EXPECT_EQ(text.value("seshook_duplicate_events_total"), 0);
    EXPECT_EQ(text.value("seshook_http_request_duration_seconds_count"), 0);
    EXPECT_EQ(text.type(requests), "counter");
}

TEST(EndpointMetrics, CountsAnswersByStatusAndReason) {
    endpoint_harness h;
    h.metrics.count_answer(200, answer_reason::accepted, 2ms);
    h.metrics.count_answer(200, answer_reason::accepted, 3ms);
    h.metrics.count_answer(404, answer_reason::not_found, 0ms);
    h.metrics.count_answer(429, answer_reason::rate_limited, 0ms);

    const auto text = h.scrape();
    EXPECT_EQ(text.value(requests, {{"code", "200"}, {"reason", "accepted"}}), 2);
    EXPECT_EQ(text.value(requests, {{"code", "404"}, {"reason", "not_found"}}), 1);
    EXPECT_EQ(text.value(requests, {{"code", "429"}, {"reason", "rate_limited"}}), 1);
    EXPECT_EQ(text.sum(requests), 4);
}

TEST(EndpointMetrics, CountsARefusedBodyAsRejectedByItsReasonToo) {
    endpoint_harness h;
    h.metrics.count_answer(400, answer_reason::invalid_json, 1ms);
    h.metrics.count_answer(413, answer_reason::body_too_large, 1ms);
    h.metrics.count_answer(404, answer_reason::not_found, 1ms);

    const auto text = h.scrape();
    EXPECT_EQ(text.value("seshook_rejected_total", {{"reason", "invalid_json"}}), 1);
    EXPECT_EQ(text.value("seshook_rejected_total", {{"reason", "body_too_large"}}), 1);
    EXPECT_EQ(text.sum("seshook_rejected_total"), 2);  // a 404 is no rejected body
}

TEST(EndpointMetrics, AnUnusualPairGetsASeriesOfItsOwn) {
    endpoint_harness h;
    h.metrics.count_answer(400, answer_reason::forbidden, 1ms);  // known status, unusual pair
    h.metrics.count_answer(418, answer_reason::other, 1ms);      // a status not in the table
    h.metrics.count_answer(418, answer_reason::other, 1ms);

    const auto text = h.scrape();
    EXPECT_EQ(text.value(requests, {{"code", "400"}, {"reason", "forbidden"}}), 1);
    EXPECT_EQ(text.value(requests, {{"code", "418"}, {"reason", "other"}}), 2);
    EXPECT_EQ(text.value(requests, {{"code", "403"}, {"reason", "forbidden"}}), 0);
}

TEST(EndpointMetrics, RecordsEachRequestDurationInSeconds) {
    endpoint_harness h;
    h.metrics.count_answer(200, answer_reason::accepted, 200us);
    h.metrics.count_answer(200, answer_reason::accepted, 30ms);
    h.metrics.count_answer(200, answer_reason::accepted, 20s);

    const auto text = h.scrape();
    constexpr std::string_view name = "seshook_http_request_duration_seconds";
    EXPECT_EQ(text.value(std::string(name) + "_count"), 3);
    EXPECT_NEAR(*text.value(std::string(name) + "_sum"), 20.0302, 1e-9);
    EXPECT_EQ(text.value(std::string(name) + "_bucket", {{"le", "0.0005"}}), 1);
    EXPECT_EQ(text.value(std::string(name) + "_bucket", {{"le", "0.05"}}), 2);
    EXPECT_EQ(text.value(std::string(name) + "_bucket", {{"le", "10"}}), 2);
    EXPECT_EQ(text.value(std::string(name) + "_bucket", {{"le", "+Inf"}}), 3);
}

TEST(EndpointMetrics, CountsAcceptedEventsByTypeAndRepeats) {
    endpoint_harness h;
    h.metrics.count_accepted(event_type::bounce);
    h.metrics.count_accepted(event_type::bounce);
    h.metrics.count_accepted(event_type::delivered);
    h.metrics.count_accepted(event_type::unknown);
    h.metrics.count_duplicates(3);
    h.metrics.count_duplicates(0);

    const auto text = h.scrape();
    EXPECT_EQ(text.value("seshook_events_accepted_total", {{"type", "bounce"}}), 2);
    EXPECT_EQ(text.value("seshook_events_accepted_total", {{"type", "delivered"}}), 1);
    EXPECT_EQ(text.value("seshook_events_accepted_total", {{"type", "unknown"}}), 1);
    EXPECT_EQ(text.value("seshook_events_accepted_total", {{"type", "click"}}), 0);
    EXPECT_EQ(text.value("seshook_duplicate_events_total"), 3);
}

TEST(EndpointMetrics, LosesNoCountFromConcurrentThreads) {
    endpoint_harness h;
    constexpr int threads = 4;
    constexpr int each = 5000;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&h] {
            for (int i = 0; i < each; ++i) {
                h.metrics.count_answer(200, answer_reason::accepted, 1ms);
                h.metrics.count_answer(418, answer_reason::healthz, 1ms);  // made on first use
            }
        });
    }
    for (auto& w : workers) w.join();

    const auto text = h.scrape();
    EXPECT_EQ(text.value(requests, {{"code", "200"}, {"reason", "accepted"}}), threads * each);
    EXPECT_EQ(text.value(requests, {{"code", "418"}, {"reason", "healthz"}}), threads * each);
    EXPECT_EQ(text.value("seshook_http_request_duration_seconds_count"), 2 * threads * each);
}

}  // namespace
}  // namespace seshook
