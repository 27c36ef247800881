// End to end: /metrics, /healthz and /readyz of the real daemon, scraped and parsed as
// Prometheus would, after posting accepted, repeated and refused callbacks to a file sink and a
// forward sink with a real receiver.

#include <gtest/gtest.h>

#include <charconv>
#include <chrono>
#include <csignal>
#include <fstream>
#include <string>
#include <thread>

#include "integration/integration_helpers.hpp"
#include "support/prometheus_text.hpp"
#include "support/tiny_http_receiver.hpp"

namespace seshook::testing {
namespace {

using namespace std::chrono_literals;
using Metrics = daemon_test;
using Readiness = daemon_test;

constexpr std::string_view requests = "seshook_http_requests_total";
constexpr std::string_view token = "Metrics-Token-0123456789abcdef";

// The [metrics] table of a daemon with a metrics listener of its own on an ephemeral port.
const std::string metrics_listener_toml = "[metrics]\nlisten = \"127.0.0.1:0\"\n";

// A forward sink "crm" to `url` that tries twice, quickly, then dead-letters.
std::string forward_sink_toml(const std::string& url, unsigned attempts = 2) {
    return "[[sinks]]\ntype = \"forward\"\nname = \"crm\"\nurl = \"" + url +
           "\"\ntimeout = \"2s\"\nmax_attempts = " + std::to_string(attempts) +
           "\nbackoff_initial = \"10ms\"\nbackoff_max = \"20ms\"\n";
}

// Returns the port of the daemon's metrics listener, from the line that announces it.
std::uint16_t metrics_port(const daemon_process& daemon) {
    constexpr std::string_view marker = "[metrics] listening on 127.0.0.1:";
    if (!daemon.wait_for_log(marker, 5s)) throw std::runtime_error("no metrics listener");
    const std::string log = daemon.log_text();
    const auto at = log.find(marker) + marker.size();
    unsigned port = 0;
    std::from_chars(log.data() + at, log.data() + log.size(), port);
    return static_cast<std::uint16_t>(port);
}

std::string get(std::string_view target) {
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n\r\n";
}

// Scrapes /metrics on `port` and parses it; fails the test on any other answer.
prometheus_text scrape(std::uint16_t port, std::string_view target = "/metrics") {
    const auto response = send_once(port, get(target));
    EXPECT_EQ(response.status, 200u) << response.body;
    EXPECT_EQ(response.header("Content-Type"), "text/plain; version=0.0.4");
    return prometheus_text(response.body);
}

// Scrapes until `done` holds for the figures, which sinks and the spool reach shortly after the
// answers; returns the last scrape.
template <typename Done>
prometheus_text scrape_until(std::uint16_t port, Done done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    for (;;) {
        auto text = scrape(port);
        if (done(text) || std::chrono::steady_clock::now() >= deadline) return text;
        std::this_thread::sleep_for(20ms);
    }
}

std::string event_of(std::string_view type, std::string_view email, long long timestamp) {
    nlohmann::ordered_json event{{"event", type},
                                 {"email", email},
                                 {"bulkId", "qcloudses-30-251200670-date-20240601142439-8jolHvR2"},
                                 {"timestamp", timestamp}};
    if (type == "bounce") event["bounceType"] = "hard_bounce";
    return event.dump();
}

TEST_F(Metrics, AScrapeReportsWhatTheDaemonDid) {
    // The downstream refuses the events of one recipient, so that those are retried and then
    // dead-lettered.
    tiny_http_receiver receiver([](const received_request& request, std::size_t) {
        receiver_reply reply;
        if (request.body.find("refused@") != std::string::npos) reply.status = 503;
        return reply;
    });
    daemon_options options = with_sinks(forward_sink_toml(receiver.url()));
    options.server_toml = "max_body_bytes = 4096\n";
    options.tables_toml = metrics_listener_toml;
    auto& daemon = start_daemon(options);
    const auto port = metrics_port(daemon);

    // Accepted: a bounce, a batch of two deliveries, and one the downstream refuses.
    const auto post = [&](const std::string& body) {
        return send_once(daemon.port(), make_post("/callback", body)).status;
    };
    const std::string bounce = event_of("bounce", "a@example.com", 1717251879);
    EXPECT_EQ(post(bounce), 200u);
    EXPECT_EQ(post("[" + event_of("delivered", "b@example.com", 1717251880) + "," +
                   event_of("delivered", "c@example.com", 1717251881) + "]"),
              200u);
    EXPECT_EQ(post(event_of("delivered", "refused@example.com", 1717251882)), 200u);

    // A repeat, refused bodies, an unknown path.
    EXPECT_EQ(post(bounce), 200u);
    EXPECT_EQ(post("not json"), 400u);
    EXPECT_EQ(post(R"({"event":"delivered"})"), 400u);
    EXPECT_EQ(post(std::string(5000, ' ')), 413u);
    EXPECT_EQ(send_once(daemon.port(), get("/nope")).status, 404u);

    // Once both sinks are done with the four events (the refused one dead-lettered).
    const auto text = scrape_until(port, [](const prometheus_text& t) {
        return t.value_or_zero("seshook_sink_delivered_total",
                               {{"sink", "events"}, {"type", "file"}}) == 4 &&
               t.value_or_zero("seshook_sink_dead_lettered_total",
                               {{"sink", "crm"}, {"type", "forward"}}) == 1 &&
               t.value_or_zero("seshook_spool_events") == 0;
    });

    // Requests by status and reason, and how long they took.
    EXPECT_EQ(text.value(requests, {{"code", "200"}, {"reason", "accepted"}}), 3);
    EXPECT_EQ(text.value(requests, {{"code", "200"}, {"reason", "duplicate"}}), 1);
    EXPECT_EQ(text.value(requests, {{"code", "400"}, {"reason", "invalid_json"}}), 1);
    EXPECT_EQ(text.value(requests, {{"code", "400"}, {"reason", "missing_field"}}), 1);
    EXPECT_EQ(text.value(requests, {{"code", "413"}, {"reason", "body_too_large"}}), 1);
    EXPECT_EQ(text.value(requests, {{"code", "404"}, {"reason", "not_found"}}), 1);
    EXPECT_EQ(text.sum(requests), 8);
    EXPECT_EQ(text.value("seshook_http_request_duration_seconds_count"), 8);
    EXPECT_EQ(text.value("seshook_http_request_duration_seconds_bucket", {{"le", "+Inf"}}), 8);
    EXPECT_GT(*text.value("seshook_http_request_duration_seconds_sum"), 0);

    // Events by type, repeats, refused bodies by reason.
    EXPECT_EQ(text.value("seshook_events_accepted_total", {{"type", "bounce"}}), 1);
    EXPECT_EQ(text.value("seshook_events_accepted_total", {{"type", "delivered"}}), 3);
    EXPECT_EQ(text.sum("seshook_events_accepted_total"), 4);
    EXPECT_EQ(text.value("seshook_duplicate_events_total"), 1);
    EXPECT_EQ(text.value("seshook_rejected_total", {{"reason", "invalid_json"}}), 1);
    EXPECT_EQ(text.value("seshook_rejected_total", {{"reason", "missing_field"}}), 1);
    EXPECT_EQ(text.value("seshook_rejected_total", {{"reason", "body_too_large"}}), 1);
    EXPECT_EQ(text.sum("seshook_rejected_total"), 3);

    // Each sink: delivered, retried, dead-lettered, failed, and nothing left to take.
    const metric_labels file{{"sink", "events"}, {"type", "file"}};
    const metric_labels crm{{"sink", "crm"}, {"type", "forward"}};
    EXPECT_EQ(text.value("seshook_sink_delivered_total", file), 4);
    EXPECT_EQ(text.value("seshook_sink_delivered_total", crm), 3);
    EXPECT_EQ(text.value("seshook_sink_retries_total", crm), 1);
    EXPECT_EQ(text.value("seshook_sink_retries_total", file), 0);
    EXPECT_EQ(text.value("seshook_sink_dead_lettered_total", crm), 1);
    EXPECT_EQ(text.value("seshook_sink_failed_total", crm), 0);
    EXPECT_EQ(text.value("seshook_sink_failed_total", file), 0);
    EXPECT_EQ(text.value("seshook_sink_queue_events", file), 0);
    EXPECT_EQ(text.value("seshook_sink_queue_events", crm), 0);
    EXPECT_EQ(read_json_lines(daemon.dir() / "var/dead-letter-crm.jsonl").size(), 1u);
    EXPECT_EQ(receiver.request_count(), 5u);  // three delivered, the refused one twice

    // The spool, the process and the build.
    EXPECT_EQ(text.value("seshook_spool_events"), 0);
    EXPECT_EQ(text.value("seshook_spool_max_bytes"), 1073741824);
    EXPECT_GE(text.value_or_zero("seshook_spool_transactions_total"), 3);
    EXPECT_EQ(text.value("seshook_build_info", {{"version", SESHOOK_EXPECTED_VERSION}}), 1);
    const double started = *text.value("process_start_time_seconds");
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_GT(started, now - 600);
    EXPECT_LE(started, now);
    EXPECT_EQ(text.value("seshook_ready"), 1);
    EXPECT_EQ(text.type("seshook_sink_delivered_total"), "counter");
    EXPECT_EQ(text.type("seshook_sink_queue_events"), "gauge");
    EXPECT_EQ(text.type("seshook_http_request_duration_seconds"), "histogram");
}

TEST_F(Metrics, QueueAndSpoolDepthShowWhatASinkHasStillToTake) {
    // The downstream fails until told otherwise; the forward sink keeps retrying its first event.
    tiny_http_receiver receiver(tiny_http_receiver::answer_always(503));
    daemon_options options = with_sinks(forward_sink_toml(receiver.url(), 100));
    options.tables_toml = metrics_listener_toml;
    auto& daemon = start_daemon(options);
    const auto port = metrics_port(daemon);

    std::size_t bytes = 0;
    for (std::size_t n = 0; n < 3; ++n) {
        const std::string body = sample_event(n);
        bytes += body.size();
        ASSERT_EQ(send_once(daemon.port(), make_post("/callback", body)).status, 200u);
    }

    // The file sink took all three; the forward sink has all three still to take, and they wait
    // in the spool.
    const metric_labels file{{"sink", "events"}, {"type", "file"}};
    const metric_labels crm{{"sink", "crm"}, {"type", "forward"}};
    auto text = scrape_until(port, [&](const prometheus_text& t) {
        return t.value_or_zero("seshook_sink_queue_events", file) == 0 &&
               t.value_or_zero("seshook_sink_retries_total", crm) >= 2;
    });
    EXPECT_EQ(text.value("seshook_sink_queue_events", file), 0);
    EXPECT_EQ(text.value("seshook_sink_queue_events", crm), 3);
    EXPECT_EQ(text.value("seshook_spool_events"), 3);
    EXPECT_EQ(text.value("seshook_spool_bytes"), static_cast<double>(bytes));
    EXPECT_GE(*text.value("seshook_sink_retries_total", crm), 2);
    EXPECT_EQ(text.value("seshook_sink_delivered_total", crm), 0);

    // The downstream comes back: everything is taken, and the spool empties.
    receiver.set_behaviour(tiny_http_receiver::answer_always(200));
    text = scrape_until(port, [&](const prometheus_text& t) {
        return t.value_or_zero("seshook_sink_queue_events", crm) == 0 &&
               t.value_or_zero("seshook_spool_bytes") == 0;
    });
    EXPECT_EQ(text.value("seshook_sink_delivered_total", crm), 3);
    EXPECT_EQ(text.value("seshook_spool_events"), 0);
    EXPECT_EQ(text.value("seshook_spool_bytes"), 0);
}

TEST_F(Metrics, OnTheCallbackListenerTheyNeedTheCallbackSecret) {
    daemon_options options;
    options.tables_toml = "[auth]\ntokens = [\"" + std::string(token) + "\"]\n";
    auto& daemon = start_daemon(options);
    ASSERT_EQ(
        send_once(daemon.port(), make_post("/callback/" + std::string(token), sample_event(1)))
            .status,
        200u);

    // Without the secret, /metrics is the 404 of an unknown path.
    const auto unknown = send_once(daemon.port(), get("/no-such-path"));
    for (const std::string target : {"/metrics", "/metrics?token=wrong-0123456789abcdef"}) {
        const auto refused = send_once(daemon.port(), get(target));
        EXPECT_EQ(refused.status, 404u) << target;
        EXPECT_EQ(refused.body, unknown.body) << target;
    }

    // With it, the figures; the secret shows nowhere in them.
    const auto response = send_once(daemon.port(), get("/metrics?token=" + std::string(token)));
    ASSERT_EQ(response.status, 200u);
    const prometheus_text text(response.body);
    EXPECT_EQ(text.value(requests, {{"code", "200"}, {"reason", "accepted"}}), 1);
    EXPECT_EQ(text.value(requests, {{"code", "404"}, {"reason", "not_found"}}), 3);
    EXPECT_EQ(response.body.find(token), std::string::npos);

    // Readiness is open to all, like health.
    EXPECT_EQ(send_once(daemon.port(), get("/readyz")).status, 200u);
    EXPECT_EQ(send_once(daemon.port(), get("/healthz")).status, 200u);
}

TEST_F(Metrics, WithAListenerOfTheirOwnTheCallbackListenerServesNone) {
    daemon_options options;
    options.tables_toml = metrics_listener_toml;
    auto& daemon = start_daemon(options);
    const auto port = metrics_port(daemon);

    EXPECT_EQ(send_once(daemon.port(), get("/metrics")).status, 404u);
    EXPECT_EQ(send_once(daemon.port(), get("/readyz")).status, 200u);
    EXPECT_EQ(send_once(port, get("/healthz")).status, 200u);
    EXPECT_EQ(send_once(port, get("/readyz")).status, 200u);
    EXPECT_EQ(send_once(port, make_post("/callback", sample_event(1))).status, 404u);

    // The listener's own requests are not counted as the endpoint's.
    const auto text = scrape(port);
    EXPECT_EQ(text.value(requests, {{"code", "404"}, {"reason", "not_found"}}), 1);
    EXPECT_EQ(text.value(requests, {{"code", "200"}, {"reason", "readyz"}}), 1);
    EXPECT_EQ(text.value_or_zero(requests, {{"code", "200"}, {"reason", "metrics"}}), 0);
}

TEST_F(Metrics, ABadMetricsAddressStopsTheStartNamingTheKey) {
    const temp_dir dir;
    const auto write = [&](const std::string& listen) {
        const auto path = dir.path() / "seshook.toml";
        std::ofstream(path) << "[server]\nlisten = \"127.0.0.1:0\"\n[metrics]\nlisten = \""
                            << listen << "\"\n[[sinks]]\ntype = \"log\"\nname = \"log\"\n";
        return path.string();
    };

    // Not an address.
    auto result = run_seshook({"--config", write("localhost:9090")}, dir.path());
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("metrics.listen: expected an IP address and port"), std::string::npos)
        << result.err;

    // An address already taken.
    const tiny_http_receiver taken;
    const std::string address = "127.0.0.1:" + std::to_string(taken.port());
    result = run_seshook({"--config", write(address)}, dir.path());
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("metrics.listen: cannot listen on " + address), std::string::npos)
        << result.err;
}

TEST_F(Readiness, IsReadyWhileServingAndNotReadyWhileDraining) {
    daemon_options options = with_server("shutdown_grace = \"10s\"\n");
    options.tables_toml = metrics_listener_toml;
    auto& daemon = start_daemon(options);
    const auto port = metrics_port(daemon);
    EXPECT_EQ(send_once(daemon.port(), get("/readyz")).status, 200u);
    EXPECT_EQ(send_once(port, get("/readyz")).status, 200u);

    // A request half sent holds the grace period open.
    const std::string request = make_post("/callback", sample_event(1));
    const std::size_t half = request.size() / 2;
    raw_connection busy(daemon.port());
    busy.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(busy.read_response().status, 200u);
    busy.send(request.substr(0, half));
    std::this_thread::sleep_for(200ms);  // let the daemon read it, or it counts as idle

    // Draining: not ready, still alive, and the figures say so too.
    daemon.send_signal(SIGTERM);
    ASSERT_TRUE(daemon.wait_for_log("stopping", 5s));
    const auto draining = send_once(port, get("/readyz"));
    EXPECT_EQ(draining.status, 503u);
    EXPECT_EQ(json_body(draining),
              nlohmann::json({{"error", "not_ready"}, {"detail", "draining"}}));
    EXPECT_EQ(send_once(port, get("/healthz")).status, 200u);
    EXPECT_EQ(scrape(port).value("seshook_ready"), 0);

    // The request in flight is still answered, then the daemon stops.
    busy.send(request.substr(half));
    EXPECT_EQ(busy.read_response().status, 200u);
    EXPECT_EQ(daemon.wait_exit(15s), 0);
}

}  // namespace
}  // namespace seshook::testing
