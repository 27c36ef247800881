#include "seshook/metrics/exposition.hpp"

#include <prometheus/text_serializer.h>

#include <stdexcept>
#include <utility>

namespace seshook {
namespace {

// NOTE: prometheus-cpp 1.0 writes help texts as they are, without escaping a backslash or a
// line break, which would break the format; ours are plain one-line sentences.
void check_help(std::string_view name, std::string_view help) {
    if (help.find_first_of("\\\n") != std::string_view::npos) {
        throw std::invalid_argument("exposition: the help of " + std::string(name) +
                                    " must be one line without backslashes");
    }
}

prometheus::ClientMetric sample_metric(const pulled_sample& sample, prometheus::MetricType type) {
    prometheus::ClientMetric metric;
    metric.label.reserve(sample.labels.size());
    for (const auto& [name, value] : sample.labels) metric.label.push_back({name, value});
    if (type == prometheus::MetricType::Counter) {
        metric.counter.value = sample.value;
    } else {
        metric.gauge.value = sample.value;
    }
    return metric;
}

}  // namespace

exposition::exposition() : registry_(std::make_shared<prometheus::Registry>()) {}

void exposition::add_pulled(std::string name, std::string help, prometheus::MetricType type,
                            sampler sample) {
    if (type != prometheus::MetricType::Counter && type != prometheus::MetricType::Gauge) {
        throw std::invalid_argument("exposition: a pulled family is a counter or a gauge");
    }
    check_help(name, help);
    pulled_.push_back({std::move(name), std::move(help), type, std::move(sample)});
}

void exposition::add_histogram(std::string name, std::string help,
                               const atomic_histogram& histogram) {
    check_help(name, help);
    histograms_.push_back({std::move(name), std::move(help), &histogram});
}

std::string exposition::text() const {
    // What was counted as it happened, then what is read now.
    std::vector<prometheus::MetricFamily> families = registry_->Collect();
    families.reserve(families.size() + pulled_.size() + histograms_.size());
    std::vector<pulled_sample> samples;
    for (const auto& pulled : pulled_) {
        samples.clear();
        pulled.sample(samples);
        prometheus::MetricFamily family{pulled.name, pulled.help, pulled.type, {}};
        family.metric.reserve(samples.size());
        for (const auto& sample : samples) {
            family.metric.push_back(sample_metric(sample, pulled.type));
        }
        families.push_back(std::move(family));
    }
    for (const auto& h : histograms_) {
        prometheus::ClientMetric metric;
        metric.histogram = h.histogram->collect();
        families.push_back(
            {h.name, h.help, prometheus::MetricType::Histogram, {std::move(metric)}});
    }
    return prometheus::TextSerializer().Serialize(families);
}

}  // namespace seshook
