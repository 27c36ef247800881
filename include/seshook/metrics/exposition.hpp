#pragma once

#include <prometheus/labels.h>
#include <prometheus/metric_type.h>
#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "seshook/metrics/atomic_histogram.hpp"

namespace seshook {

/// The Content-Type of the Prometheus text exposition format that text() writes.
inline constexpr std::string_view exposition_content_type = "text/plain; version=0.0.4";

/// One sample of a pulled family: its labels and its value at the time of the scrape.
struct pulled_sample {
    prometheus::Labels labels;
    double value = 0;
};

/// Every metric of the process, and their text for a scrape. Two kinds live here: counters and
/// gauges that seshook updates as things happen (in registry(), resolved once at start so that
/// updating one is an atomic add), and families pulled at scrape time from figures that other
/// parts keep anyway (sink counters, queue lengths, open connections), which cost the hot path
/// nothing at all.
///
/// Families are added while starting, before the first scrape; text() may then be called from
/// any thread, and every sampler must be safe to call from any thread.
class exposition {
public:
    /// Appends the samples of one pulled family; called at each scrape.
    using sampler = std::function<void(std::vector<pulled_sample>& samples)>;

    exposition();
    exposition(const exposition&) = delete;
    exposition& operator=(const exposition&) = delete;

    /// Returns the registry of the counters and gauges that are updated as things happen.
    prometheus::Registry& registry() noexcept { return *registry_; }

    /// Adds a counter or gauge family whose samples `sample` reads at each scrape. Names and
    /// label values must hold no secret: they are served to whoever may scrape.
    void add_pulled(std::string name, std::string help, prometheus::MetricType type,
                    sampler sample);

    /// Adds a histogram family of one series without labels, read from `histogram` at each
    /// scrape; the histogram must outlive the exposition.
    void add_histogram(std::string name, std::string help, const atomic_histogram& histogram);

    /// Returns every metric in the Prometheus text exposition format, version 0.0.4.
    std::string text() const;

private:
    struct pulled_family {
        std::string name;
        std::string help;
        prometheus::MetricType type;
        sampler sample;
    };
    struct histogram_family {
        std::string name;
        std::string help;
        const atomic_histogram* histogram;
    };

    std::shared_ptr<prometheus::Registry> registry_;
    std::vector<pulled_family> pulled_;
    std::vector<histogram_family> histograms_;
};

}  // namespace seshook
