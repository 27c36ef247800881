// End to end: the limits that keep one client from holding the endpoint: deadlines for the
// request head and the whole request, the number of header fields, and connections per client.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "integration/integration_helpers.hpp"

namespace seshook::testing {
namespace {

using namespace std::chrono_literals;
using std::chrono::steady_clock;
using Limits = daemon_test;

const std::string health = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

// Sends `bytes` one at a time, 100 ms apart, until the server closes the connection; returns
// how many were sent by then, or bytes.size() + 1 when it never closed.
std::size_t trickle_until_closed(raw_connection& connection, std::string_view bytes) {
    for (std::size_t sent = 0; sent < bytes.size(); ++sent) {
        try {
            connection.send(bytes.substr(sent, 1));
        } catch (const std::exception&) {
            return sent;
        }
        if (connection.wait_closed(100ms)) return sent + 1;
    }
    return bytes.size() + 1;
}

TEST_F(Limits, HeadTrickledByteByByteIsCutOffAtTheHeaderTimeout) {
    auto& daemon = start_daemon(with_server(R"(header_timeout = "300ms"
request_timeout = "3s")"));
    raw_connection connection(daemon.port());
    const std::string head =
        "POST /callback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
        "\r\nContent-Length: 2\r\n\r\n";

    // A byte every 100 ms: 3 s (the request timeout) would take 30 of them, 300 ms only 3.
    const std::size_t sent = trickle_until_closed(connection, head);
    EXPECT_LT(sent, 15u) << "the head was not cut off at the header timeout";
    EXPECT_TRUE(daemon.wait_for_log("request head from 127.0.0.1 not complete within 300 ms", 2s));
}

TEST_F(Limits, BodyTrickledByteByByteIsCutOffAtTheRequestTimeout) {
    auto& daemon = start_daemon(with_server(R"(header_timeout = "300ms"
request_timeout = "1500ms")"));
    raw_connection connection(daemon.port());
    const std::string body = sample_event(1);
    connection.send("POST /callback HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n");

    // The head came at once, so the header timeout is met: the body may take longer than it,
    // but not longer than the request timeout (1.5 s: 15 bytes of a body of about 150).
    const std::size_t sent = trickle_until_closed(connection, body);
    EXPECT_GT(sent, 5u) << "the body was held to the header timeout";
    EXPECT_LT(sent, body.size()) << "the body was not cut off at the request timeout";
    EXPECT_TRUE(daemon.wait_for_log("request from 127.0.0.1 not complete within 1500 ms", 2s));
    EXPECT_TRUE(read_json_lines(daemon.events_path()).empty());
}

TEST_F(Limits, KeptAliveConnectionGetsAFreshHeaderTimeoutForEachRequest) {
    auto& daemon = start_daemon(with_server(R"(header_timeout = "400ms"
request_timeout = "400ms"
idle_timeout = "10s")"));
    raw_connection connection(daemon.port());
    connection.send(health);
    EXPECT_EQ(connection.read_response().status, 200u);
    for (int i = 0; i < 2; ++i) {
        // Idle past the header timeout between requests: that is the idle timeout's business.
        std::this_thread::sleep_for(600ms);
        connection.send(health);
        EXPECT_EQ(connection.read_response().status, 200u) << "request " << i + 1;
    }
}

TEST_F(Limits, TooManyHeaderFieldsIs431) {
    auto& daemon = start_daemon(with_server("max_header_fields = 10"));
    const auto post_with_fields = [&](std::size_t fields) {
        // Host and Content-Length are two of them.
        std::string extra;
        for (std::size_t i = 2; i < fields; ++i)
            extra += "X-Field-" + std::to_string(i) + ": v\r\n";
        return make_post("/callback", sample_event(fields), extra);
    };

    EXPECT_EQ(send_once(daemon.port(), post_with_fields(10)).status, 200u);

    raw_connection connection(daemon.port());
    connection.send(post_with_fields(11));
    const auto response = connection.read_response();
    EXPECT_EQ(response.status, 431u);
    EXPECT_EQ(json_body(response).value("error", ""), "header_too_large") << response.body;
    EXPECT_NE(json_body(response).value("detail", "").find("max_header_fields"), std::string::npos)
        << response.body;
    EXPECT_TRUE(connection.wait_closed(3s));
    EXPECT_EQ(wait_for_json_lines(daemon.events_path(), 1, 5s).size(), 1u);
}

TEST_F(Limits, ConnectionsPerClientPastTheCapGet503) {
    auto& daemon = start_daemon(with_server("max_connections_per_client = 3"));

    // Three connections from one address, all served and kept open.
    std::vector<std::unique_ptr<raw_connection>> open;
    for (int i = 0; i < 3; ++i) {
        open.push_back(std::make_unique<raw_connection>(daemon.port()));
        open.back()->send(health);
        ASSERT_EQ(open.back()->read_response().status, 200u) << "connection " << i;
    }

    // A fourth from the same address is told why, asked to come back, and closed.
    raw_connection fourth(daemon.port());
    fourth.send(health);
    const auto refused = fourth.read_response();
    EXPECT_EQ(refused.status, 503u);
    const auto answer = json_body(refused);
    EXPECT_EQ(answer.value("error", ""), "overloaded") << refused.body;
    EXPECT_EQ(answer.value("detail", ""), "too many connections from your address");
    EXPECT_EQ(refused.header("Retry-After"), "1");
    EXPECT_TRUE(fourth.wait_closed(3s));
    EXPECT_TRUE(daemon.wait_for_log("warning [listener] too many connections from 127.0.0.1", 2s));

    // Another address is not held to the first one's count.
    raw_connection other(daemon.port(), "127.0.0.2");
    other.send(health);
    EXPECT_EQ(other.read_response().status, 200u);

    // Once one of the first three closes, the address may connect again.
    open.front().reset();
    unsigned status = 0;
    const auto deadline = steady_clock::now() + 5s;
    while (status != 200u && steady_clock::now() < deadline) {
        raw_connection next(daemon.port());
        next.send(health);
        status = next.read_response().status;
        if (status != 200u) std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(status, 200u);
}

TEST_F(Limits, ZeroConnectionsPerClientMeansNoCap) {
    auto& daemon = start_daemon(with_server("max_connections_per_client = 0"));
    std::vector<std::unique_ptr<raw_connection>> open;
    for (int i = 0; i < 8; ++i) {
        open.push_back(std::make_unique<raw_connection>(daemon.port()));
        open.back()->send(health);
        EXPECT_EQ(open.back()->read_response().status, 200u) << "connection " << i;
    }
}

}  // namespace
}  // namespace seshook::testing
