#include "seshook/metrics/status_pages.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "support/prometheus_text.hpp"

namespace seshook {
namespace {

namespace http = boost::beast::http;

struct pages_harness {
    pages_harness() {
        out.add_pulled("demo_value", "A value.", prometheus::MetricType::Gauge,
                       [](std::vector<pulled_sample>& samples) {
                           samples.push_back({{}, 42});
                       });
    }

    exposition out;
    readiness ready;
    status_pages pages{out, ready};
};

nlohmann::json parsed(const status_page& page) { return nlohmann::json::parse(page.body); }

TEST(StatusPages, HealthzIsAliveWhateverTheReadiness) {
    pages_harness h;
    h.ready.set_draining();
    const auto page = h.pages.answer("/healthz", http::verb::get);
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200u);
    EXPECT_EQ(parsed(*page), nlohmann::json({{"ok", true}}));
    EXPECT_EQ(page->reason, answer_reason::healthz);
}

TEST(StatusPages, ReadyzWaitsForTheListeners) {
    pages_harness h;
    const auto before = h.pages.answer("/readyz", http::verb::get);
    ASSERT_TRUE(before);
    EXPECT_EQ(before->status, 503u);
    EXPECT_EQ(parsed(*before)["error"], "not_ready");
    EXPECT_EQ(parsed(*before)["detail"], "not_listening");
    EXPECT_EQ(before->reason, answer_reason::not_ready);

    h.ready.set_listening();
    const auto after = h.pages.answer("/readyz", http::verb::get);
    EXPECT_EQ(after->status, 200u);
    EXPECT_EQ(parsed(*after), nlohmann::json({{"ok", true}}));
    EXPECT_EQ(after->reason, answer_reason::readyz);
}

TEST(StatusPages, ReadyzSaysSoWhileDrainingOrWhileTheSpoolFails) {
    pages_harness h;
    std::atomic<bool> failing{true};
    h.ready.watch_spool([&failing] { return failing.load(); });
    h.ready.set_listening();
    EXPECT_EQ(parsed(*h.pages.answer("/readyz", http::verb::get))["detail"], "spool_failing");

    failing = false;
    EXPECT_EQ(h.pages.answer("/readyz", http::verb::get)->status, 200u);

    h.ready.set_draining();
    const auto draining = h.pages.answer("/readyz", http::verb::head);
    EXPECT_EQ(draining->status, 503u);
    EXPECT_EQ(parsed(*draining)["detail"], "draining");
}

TEST(StatusPages, MetricsIsThePrometheusText) {
    pages_harness h;
    const auto page = h.pages.answer("/metrics", http::verb::get);
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200u);
    EXPECT_EQ(page->content_type, "text/plain; version=0.0.4");
    EXPECT_EQ(testing::prometheus_text(page->body).value("demo_value"), 42);
    EXPECT_EQ(page->reason, answer_reason::metrics);
}

TEST(StatusPages, OtherMethodsAre405AndOtherPathsAreNotPages) {
    pages_harness h;
    for (const auto* path : {"/healthz", "/readyz", "/metrics"}) {
        const auto page = h.pages.answer(path, http::verb::post);
        ASSERT_TRUE(page) << path;
        EXPECT_EQ(page->status, 405u);
        EXPECT_EQ(page->allow, "GET, HEAD");
    }
    EXPECT_FALSE(h.pages.answer("/callback", http::verb::get));
    EXPECT_FALSE(h.pages.answer("/metrics/", http::verb::get));
}

}  // namespace
}  // namespace seshook
