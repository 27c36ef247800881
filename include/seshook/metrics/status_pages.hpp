#pragma once

#include <boost/beast/http/verb.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "seshook/metrics/answer_reason.hpp"
#include "seshook/metrics/exposition.hpp"
#include "seshook/metrics/readiness.hpp"

namespace seshook {

/// The paths of the operations endpoints.
inline constexpr std::string_view healthz_path = "/healthz";
inline constexpr std::string_view readyz_path = "/readyz";
inline constexpr std::string_view metrics_path = "/metrics";

/// One answer of an operations endpoint, whichever listener serves it.
struct status_page {
    unsigned status = 200;
    std::string_view content_type = "application/json";
    std::string body;
    std::string_view allow;  // the Allow header of a 405, "" otherwise
    answer_reason reason = answer_reason::other;
};

/// Answers /healthz (the process is alive), /readyz (it should be sent callbacks) and /metrics
/// (the Prometheus text), for the callback listeners and the metrics listener alike. Who may
/// ask is the listener's business; this only says what the answer is.
class status_pages {
public:
    /// `metrics` and `ready` must outlive the pages.
    status_pages(const exposition& metrics, const readiness& ready)
        : metrics_(metrics), ready_(ready) {}

    /// Returns the answer to `method` on `path`, or nothing when `path` is none of the three.
    /// GET and HEAD are answered; another method gets 405.
    std::optional<status_page> answer(std::string_view path, boost::beast::http::verb method) const;

private:
    const exposition& metrics_;
    const readiness& ready_;
};

}  // namespace seshook
