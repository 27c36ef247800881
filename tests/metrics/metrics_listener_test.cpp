#include "seshook/metrics/metrics_listener.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/prometheus_text.hpp"
#include "support/raw_http.hpp"

namespace seshook {
namespace {

using namespace std::chrono_literals;
using testing::raw_connection;
using testing::send_once;

// A metrics listener on 127.0.0.1 and an ephemeral port, served by one thread.
struct listener_harness {
    listener_harness() {
        out.add_pulled("demo_value", "A value.", prometheus::MetricType::Gauge,
                       [](std::vector<pulled_sample>& samples) {
                           samples.push_back({{}, 42});
                       });
        listener.start();
        thread = std::thread([this] { io.run(); });
    }

    ~listener_harness() {
        listener.stop();
        work.reset();
        io.stop();
        thread.join();
    }

    std::uint16_t port() const { return listener.local_endpoint().port(); }

    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{
        io.get_executor()};
    exposition out;
    readiness ready;
    status_pages pages{out, ready};
    metrics_listener listener{io, pages, "127.0.0.1", 0};
    std::thread thread;
};

std::string get(std::string_view target, std::string_view extra = "") {
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n" + std::string(extra) + "\r\n";
}

TEST(MetricsListener, ServesTheMetricsTextOnItsOwnPort) {
    listener_harness h;
    const auto response = send_once(h.port(), get("/metrics"));
    EXPECT_EQ(response.status, 200u);
    EXPECT_EQ(response.header("Content-Type"), "text/plain; version=0.0.4");
    EXPECT_EQ(testing::prometheus_text(response.body).value("demo_value"), 42);
}

TEST(MetricsListener, ServesHealthAndReadinessAndNothingElse) {
    listener_harness h;
    EXPECT_EQ(send_once(h.port(), get("/healthz")).status, 200u);
    EXPECT_EQ(send_once(h.port(), get("/readyz")).status, 503u);
    h.ready.set_listening();
    EXPECT_EQ(send_once(h.port(), get("/readyz?verbose=1")).status, 200u);

    const auto unknown = send_once(h.port(), get("/callback"));
    EXPECT_EQ(unknown.status, 404u);
    EXPECT_EQ(unknown.body, R"({"error":"not_found","detail":"no such path"})");
    const auto post =
        send_once(h.port(), "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    EXPECT_EQ(post.status, 405u);
    EXPECT_EQ(post.header("Allow"), "GET, HEAD");
    EXPECT_EQ(send_once(h.port(),
                        "POST /callback HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                        "\r\n{}")
                  .status,
              404u);
}

TEST(MetricsListener, KeepsTheConnectionAliveAndAnswersHeadWithoutABody) {
    listener_harness h;
    raw_connection connection(h.port());
    connection.send(get("/healthz"));
    EXPECT_EQ(connection.read_response().status, 200u);
    connection.send("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto head = connection.read_response(true);
    EXPECT_EQ(head.status, 200u);
    EXPECT_TRUE(head.body.empty());
    EXPECT_NE(head.header("Content-Length"), "0");
    connection.send(get("/metrics", "Connection: close\r\n"));
    EXPECT_EQ(connection.read_response().status, 200u);
    EXPECT_TRUE(connection.wait_closed(2s));
}

TEST(MetricsListener, ClosesARequestWithAnOversizedBodyOrHead) {
    listener_harness h;
    raw_connection with_body(h.port());
    with_body.send("POST /callback HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" +
                   std::string(5000, 'a'));
    EXPECT_TRUE(with_body.wait_closed(2s));

    raw_connection oversized(h.port());
    oversized.send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(10000, 'a') +
                   "\r\n\r\n");
    EXPECT_TRUE(oversized.wait_closed(2s));

    // The listener serves on.
    EXPECT_EQ(send_once(h.port(), get("/healthz")).status, 200u);
}

TEST(MetricsListener, RefusesToStartOnAnAddressInUse) {
    listener_harness h;
    metrics_listener second(h.io, h.pages, "127.0.0.1", h.port());
    try {
        second.start();
        FAIL() << "a second listener bound the same port";
    } catch (const std::system_error& e) {
        EXPECT_NE(
            std::string(e.what()).find("cannot listen on 127.0.0.1:" + std::to_string(h.port())),
            std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace seshook
