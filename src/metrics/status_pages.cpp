#include "seshook/metrics/status_pages.hpp"

namespace seshook {

namespace http = boost::beast::http;

std::optional<status_page> status_pages::answer(std::string_view path, http::verb method) const {
    if (path != healthz_path && path != readyz_path && path != metrics_path) return std::nullopt;

    // Reading only.
    if (method != http::verb::get && method != http::verb::head) {
        return status_page{405, "application/json",
                           R"({"error":"method_not_allowed","detail":"use GET"})", "GET, HEAD",
                           answer_reason::method_not_allowed};
    }

    // Alive as long as it answers at all.
    if (path == healthz_path) {
        return status_page{200, "application/json", R"({"ok":true})", {}, answer_reason::healthz};
    }

    // Ready, or why not; the reason is one word of a fixed few, never a path or an error text.
    if (path == readyz_path) {
        const std::string_view why = ready_.not_ready_reason();
        if (why.empty()) {
            return status_page{
                200, "application/json", R"({"ok":true})", {}, answer_reason::readyz};
        }
        return status_page{503,
                           "application/json",
                           R"({"error":"not_ready","detail":")" + std::string(why) + "\"}",
                           {},
                           answer_reason::not_ready};
    }
    return status_page{200, exposition_content_type, metrics_.text(), {}, answer_reason::metrics};
}

}  // namespace seshook
