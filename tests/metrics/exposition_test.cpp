#include "seshook/metrics/exposition.hpp"

#include <gtest/gtest.h>
#include <prometheus/counter.h>

#include <atomic>
#include <stdexcept>

#include "support/prometheus_text.hpp"

namespace seshook {
namespace {

using prometheus::MetricType;
using testing::prometheus_text;

TEST(Exposition, WritesRegisteredAndPulledFamiliesAScraperCanRead) {
    exposition out;
    auto& counter = prometheus::BuildCounter()
                        .Name("demo_events_total")
                        .Help("Events.")
                        .Register(out.registry())
                        .Add({{"type", "bounce"}});
    counter.Increment(3);
    std::atomic<int> depth{7};
    out.add_pulled("demo_queue", "Waiting.", MetricType::Gauge,
                   [&depth](std::vector<pulled_sample>& samples) {
                       samples.push_back({{{"sink", "a"}}, static_cast<double>(depth.load())});
                       samples.push_back({{{"sink", "b"}}, 0});
                   });

    const prometheus_text first(out.text());
    EXPECT_EQ(first.value("demo_events_total", {{"type", "bounce"}}), 3);
    EXPECT_EQ(first.type("demo_events_total"), "counter");
    EXPECT_EQ(first.value("demo_queue", {{"sink", "a"}}), 7);
    EXPECT_EQ(first.value("demo_queue", {{"sink", "b"}}), 0);
    EXPECT_EQ(first.type("demo_queue"), "gauge");

    // A pulled value is read anew at each scrape.
    depth = 2;
    counter.Increment();
    const prometheus_text second(out.text());
    EXPECT_EQ(second.value("demo_queue", {{"sink", "a"}}), 2);
    EXPECT_EQ(second.value("demo_events_total", {{"type", "bounce"}}), 4);
}

TEST(Exposition, EscapesLabelValuesSoThatTheTextStaysReadable) {
    exposition out;
    out.add_pulled("demo_total", "Escapes.", MetricType::Counter,
                   [](std::vector<pulled_sample>& samples) {
                       samples.push_back({{{"name", "a\"b\\c\nd"}}, 1});
                   });
    const prometheus_text text(out.text());
    EXPECT_EQ(text.value("demo_total", {{"name", "a\"b\\c\nd"}}), 1);
}

TEST(Exposition, WritesAHistogramWithCumulativeBucketsSumAndCount) {
    exposition out;
    atomic_histogram h({0.5, 1});
    h.observe(0.25);
    h.observe(0.75);
    h.observe(4);
    out.add_histogram("demo_seconds", "Durations.", h);

    const prometheus_text text(out.text());
    EXPECT_EQ(text.type("demo_seconds"), "histogram");
    EXPECT_EQ(text.value("demo_seconds_bucket", {{"le", "0.5"}}), 1);
    EXPECT_EQ(text.value("demo_seconds_bucket", {{"le", "1"}}), 2);
    EXPECT_EQ(text.value("demo_seconds_bucket", {{"le", "+Inf"}}), 3);
    EXPECT_EQ(text.value("demo_seconds_count"), 3);
    EXPECT_EQ(text.value("demo_seconds_sum"), 5);
}

TEST(Exposition, RefusesAHelpTextThatWouldBreakTheFormat) {
    exposition out;
    const auto none = [](std::vector<pulled_sample>&) {};
    EXPECT_THROW(out.add_pulled("demo", "two\nlines", MetricType::Gauge, none),
                 std::invalid_argument);
    EXPECT_THROW(out.add_pulled("demo", "a \\ b", MetricType::Gauge, none), std::invalid_argument);
    EXPECT_THROW(out.add_pulled("demo", "histogram", MetricType::Histogram, none),
                 std::invalid_argument);
}

}  // namespace
}  // namespace seshook
