// End to end: signals. SIGTERM and SIGINT stop without losing accepted events; SIGHUP reopens.

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "integration/integration_helpers.hpp"

namespace seshook::testing {
namespace {

using namespace std::chrono_literals;
using Signals = daemon_test;

// Gives the daemon time to read bytes just sent. Nothing shows from outside that it did, and
// a connection whose bytes are still unread at SIGTERM counts as idle and is closed unanswered.
void let_the_daemon_read() { std::this_thread::sleep_for(200ms); }

std::set<std::string> ids_of(const std::vector<nlohmann::json>& lines) {
    std::set<std::string> ids;
    for (const auto& line : lines) ids.insert(line.at("id").get<std::string>());
    return ids;
}

TEST_F(Signals, SigtermDrainsEveryAcceptedEvent) {
    auto& daemon = start_daemon();
    constexpr std::size_t connections = 5;
    constexpr std::size_t per_connection = 100;

    // Post from several connections at once, each keeping its connection alive.
    std::atomic<std::size_t> answered_ok{0};
    std::atomic<std::size_t> failures{0};
    std::vector<std::thread> clients;
    for (std::size_t c = 0; c < connections; ++c) {
        clients.emplace_back([&, c] {
            try {
                raw_connection connection(daemon.port());
                for (std::size_t i = 0; i < per_connection; ++i) {
                    connection.send(make_post("/callback", sample_event(c * per_connection + i)));
                    if (connection.read_response().status == 200u) ++answered_ok;
                }
            } catch (const std::exception&) {
                ++failures;
            }
        });
    }
    for (auto& t : clients) t.join();
    ASSERT_EQ(failures.load(), 0u);
    ASSERT_EQ(answered_ok.load(), connections * per_connection);

    // Stop at once, while the file sink may still have records queued.
    daemon.send_signal(SIGTERM);
    EXPECT_EQ(daemon.wait_exit(15s), 0);

    // Every accepted event is in the file, once, and nothing went to the rejects file.
    const auto lines = read_json_lines(daemon.events_path());
    EXPECT_EQ(lines.size(), connections * per_connection);
    EXPECT_EQ(ids_of(lines).size(), connections * per_connection);
    EXPECT_TRUE(read_json_lines(daemon.rejects_path()).empty());
    EXPECT_TRUE(daemon.log_contains("stopped: 500 events accepted"));
}

TEST_F(Signals, SigtermFinishesTheRequestInFlightAndClosesIdleConnections) {
    auto& daemon = start_daemon();

    // One connection idle after a request, one in the middle of a request.
    raw_connection idle(daemon.port());
    idle.send(make_post("/callback", sample_event(1)));
    ASSERT_EQ(idle.read_response().status, 200u);
    const std::string request = make_post("/callback", sample_event(2));
    const std::size_t half = request.size() / 2;
    raw_connection busy(daemon.port());
    busy.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(busy.read_response().status, 200u);
    busy.send(request.substr(0, half));
    let_the_daemon_read();

    // Stop: the idle connection closes, new connections are refused.
    daemon.send_signal(SIGTERM);
    ASSERT_TRUE(daemon.wait_for_log("stopping", 5s));
    EXPECT_TRUE(idle.wait_closed(3s));
    EXPECT_THROW(raw_connection{daemon.port()}, std::system_error);

    // The request in flight is still answered, then its connection closes.
    busy.send(request.substr(half));
    const auto response = busy.read_response();
    EXPECT_EQ(response.status, 200u);
    EXPECT_EQ(response.header("Connection"), "close");
    EXPECT_TRUE(busy.wait_closed(3s));

    EXPECT_EQ(daemon.wait_exit(15s), 0);
    EXPECT_EQ(read_json_lines(daemon.events_path()).size(), 2u);
}

TEST_F(Signals, SighupRightAfterStartIsNotFatal) {
    // A supervisor may signal as soon as the daemon says it listens.
    auto& daemon = start_daemon();
    daemon.send_signal(SIGHUP);
    EXPECT_TRUE(daemon.wait_for_log("SIGHUP", 5s));
    EXPECT_FALSE(daemon.wait_exit(100ms).has_value()) << "seshook died of an early SIGHUP";
    EXPECT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(1))).status, 200u);
}

TEST_F(Signals, SigtermEndsAStalledRequestWithinTheGracePeriod) {
    auto& daemon = start_daemon(with_server(R"(shutdown_grace = "500ms")"));
    raw_connection stalled(daemon.port());
    stalled.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(stalled.read_response().status, 200u);
    stalled.send("POST /callback HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{");
    let_the_daemon_read();

    // The request timeout (10 s) is far away; the grace period is what bounds the stop.
    daemon.send_signal(SIGTERM);
    EXPECT_EQ(daemon.wait_exit(5s), 0);
    EXPECT_TRUE(daemon.log_contains("still open at the end of the grace period"));
}

TEST_F(Signals, SigintStopsCleanly) {
    auto& daemon = start_daemon();
    ASSERT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(1))).status, 200u);
    daemon.send_signal(SIGINT);
    EXPECT_EQ(daemon.wait_exit(15s), 0);
    EXPECT_EQ(read_json_lines(daemon.events_path()).size(), 1u);
}

TEST_F(Signals, SighupReopensTheFileSinkAndTheRejectsFile) {
    auto& daemon = start_daemon();

    // One event and one refusal in the first files.
    ASSERT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(1))).status, 200u);
    ASSERT_EQ(send_once(daemon.port(), make_post("/callback", "not json")).status, 400u);
    ASSERT_EQ(wait_for_json_lines(daemon.events_path(), 1, 5s).size(), 1u);
    ASSERT_EQ(wait_for_json_lines(daemon.rejects_path(), 1, 5s).size(), 1u);

    // Move them away as logrotate does, then ask for a reopen.
    const auto moved_events = daemon.dir() / "events.jsonl.1";
    const auto moved_rejects = daemon.dir() / "rejects.jsonl.1";
    std::filesystem::rename(daemon.events_path(), moved_events);
    std::filesystem::rename(daemon.rejects_path(), moved_rejects);
    daemon.send_signal(SIGHUP);
    ASSERT_TRUE(daemon.wait_for_log("SIGHUP", 5s));

    // What comes next lands in new files at the configured paths.
    ASSERT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(2))).status, 200u);
    ASSERT_EQ(send_once(daemon.port(), make_post("/callback", "still not json")).status, 400u);
    const auto events = wait_for_json_lines(daemon.events_path(), 1, 5s);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].at("payload").at("email"), "user2@example.com");
    const auto rejects = wait_for_json_lines(daemon.rejects_path(), 1, 5s);
    ASSERT_EQ(rejects.size(), 1u);
    EXPECT_EQ(rejects[0].value("body", ""), "still not json");

    // The moved files kept exactly what they had.
    EXPECT_EQ(read_json_lines(moved_events).size(), 1u);
    EXPECT_EQ(read_json_lines(moved_rejects).size(), 1u);

    // And the daemon keeps running after a SIGHUP.
    daemon.send_signal(SIGTERM);
    EXPECT_EQ(daemon.wait_exit(15s), 0);
}

}  // namespace
}  // namespace seshook::testing
