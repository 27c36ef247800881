// End to end: an event delivered many times over, from several connections at once and again
// after a restart, reaches each sink once; with `[dedup] enabled = false`, every delivery does.

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "integration/durability_helpers.hpp"
#include "integration/integration_helpers.hpp"
#include "support/load_driver.hpp"
#include "support/temp_dir.hpp"
#include "support/tiny_http_receiver.hpp"

namespace seshook::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t copies = 50;
constexpr std::size_t connections = 8;

class Deduplication : public daemon_test {
protected:
    /// Options for a daemon in this test's folder with a file sink, a forward sink to the
    /// receiver and the spool and dedup tables `tables`.
    daemon_options options_with(std::string tables) {
        daemon_options options;
        options.dir = folder_.path();
        options.tables_toml = std::move(tables);
        options.sinks_toml = patient_forward_sink(receiver_.url("/hook"));
        return options;
    }

    /// Posts `body` `count` times from `connections` connections at once to the running daemon.
    load_report post_copies(const std::string& body, std::size_t count) {
        const std::uint16_t port = daemon_->port();
        load_options load;
        load.connections = connections;
        load.max_attempts = 1;  // nothing is killed here: an answer that does not come is a failure
        load.time_limit = 20s;
        return run_load([port] { return port; }, std::vector<std::string>(count, body), load);
    }

    /// Stops the daemon of this test with SIGTERM; it must exit 0.
    void stop_daemon() {
        daemon_->send_signal(SIGTERM);
        ASSERT_EQ(daemon_->wait_exit(20s), 0);
    }

    void TearDown() override {
        // The daemon goes before the folder and the receiver it uses, which are members here.
        daemon_test::TearDown();
        daemon_.reset();
    }

    temp_dir folder_;
    tiny_http_receiver receiver_;
};

// Returns the "duplicates" count of an answer, 0 when it has none; -1 when it is not
// {"ok":true,...}.
int duplicates_in(const body_outcome& outcome) {
    const auto body = nlohmann::json::parse(outcome.response_body, nullptr, false);
    if (!body.is_object() || body.value("ok", false) != true) return -1;
    return body.value("duplicates", 0);
}

// Returns how many outcomes were answered 200 with `duplicates` duplicates.
std::size_t answered_with(const load_report& report, int duplicates) {
    std::size_t count = 0;
    for (const auto& outcome : report.outcomes) {
        count += outcome.acknowledged && duplicates_in(outcome) == duplicates;
    }
    return count;
}

TEST_F(Deduplication, RepeatedEventReachesEachSinkOnceAcrossARestart) {
    const std::string body = sample_event(7);
    const std::string id = expected_id(nlohmann::json::parse(body));
    start_daemon(options_with(spool_tables("fsync")));

    // Fifty copies at once: one is new, every other one is answered as a duplicate.
    const auto first = post_copies(body, copies);
    EXPECT_EQ(first.acknowledged_count(), copies);
    EXPECT_EQ(answered_with(first, 0), 1u);
    EXPECT_EQ(answered_with(first, 1), copies - 1);
    ASSERT_TRUE(receiver_.wait_for_requests(1, 10s));
    ASSERT_EQ(wait_for_json_lines(daemon_->events_path(), 1, 10s).size(), 1u);

    // After a restart in the same folder the spool still knows the id.
    stop_daemon();
    start_daemon(options_with(spool_tables("fsync")));
    const auto second = post_copies(body, copies);
    EXPECT_EQ(second.acknowledged_count(), copies);
    EXPECT_EQ(answered_with(second, 1), copies);

    // A second dispatch, had there been one, would arrive within moments; then stop and count.
    std::this_thread::sleep_for(500ms);
    stop_daemon();
    EXPECT_EQ(count_record_ids(read_json_lines(daemon_->events_path())), (id_counts{{id, 1}}));
    EXPECT_EQ(count_request_ids(receiver_.requests()), (id_counts{{id, 1}}));
    EXPECT_TRUE(read_json_lines(daemon_->rejects_path()).empty());
}

TEST_F(Deduplication, BatchRepeatingAnEventCountsItsDuplicates) {
    const std::string a = sample_event(1);
    const std::string b = sample_event(2);
    auto& daemon = start_daemon(options_with(spool_tables("fsync")));

    // A copy inside one batch is a duplicate too; so are both events of a later batch.
    const auto once = send_once(daemon.port(), make_post("/callback", "[" + a + "," + a + "]"));
    EXPECT_EQ(once.status, 200u);
    EXPECT_EQ(json_body(once), nlohmann::json::parse(R"({"ok":true,"duplicates":1})"));
    const auto again = send_once(daemon.port(), make_post("/callback", "[" + b + "," + a + "]"));
    EXPECT_EQ(again.status, 200u);
    EXPECT_EQ(json_body(again), nlohmann::json::parse(R"({"ok":true,"duplicates":1})"));
    const auto twice = send_once(daemon.port(), make_post("/callback", "[" + a + "," + b + "]"));
    EXPECT_EQ(twice.status, 200u);
    EXPECT_EQ(json_body(twice), nlohmann::json::parse(R"({"ok":true,"duplicates":2})"));

    ASSERT_TRUE(receiver_.wait_for_requests(2, 10s));
    std::this_thread::sleep_for(300ms);
    stop_daemon();
    const id_counts each_once{{expected_id(nlohmann::json::parse(a)), 1},
                              {expected_id(nlohmann::json::parse(b)), 1}};
    EXPECT_EQ(count_record_ids(read_json_lines(daemon.events_path())), each_once);
    EXPECT_EQ(count_request_ids(receiver_.requests()), each_once);
}

TEST_F(Deduplication, MemoryDurabilityDeduplicatesWithinOneRun) {
    const std::string body = sample_event(3);
    const std::string id = expected_id(nlohmann::json::parse(body));
    start_daemon(options_with(spool_tables("memory")));

    const auto report = post_copies(body, copies);
    EXPECT_EQ(report.acknowledged_count(), copies);
    EXPECT_EQ(answered_with(report, 0), 1u);
    EXPECT_EQ(answered_with(report, 1), copies - 1);

    ASSERT_TRUE(receiver_.wait_for_requests(1, 10s));
    std::this_thread::sleep_for(500ms);
    stop_daemon();
    EXPECT_EQ(count_record_ids(read_json_lines(daemon_->events_path())), (id_counts{{id, 1}}));
    EXPECT_EQ(count_request_ids(receiver_.requests()), (id_counts{{id, 1}}));
}

TEST_F(Deduplication, DisabledDeliversEveryPost) {
    const std::string body = sample_event(5);
    const std::string id = expected_id(nlohmann::json::parse(body));
    start_daemon(options_with(spool_tables("fsync", false)));

    // Each copy is new to a daemon that does not deduplicate, before a restart and after.
    const auto first = post_copies(body, copies);
    EXPECT_EQ(first.acknowledged_count(), copies);
    EXPECT_EQ(answered_with(first, 0), copies);
    ASSERT_TRUE(receiver_.wait_for_requests(copies, 20s)) << receiver_.request_count();
    stop_daemon();
    start_daemon(options_with(spool_tables("fsync", false)));
    const auto second = post_copies(body, copies);
    EXPECT_EQ(second.acknowledged_count(), copies);
    EXPECT_EQ(answered_with(second, 0), copies);

    // Every copy reaches both sinks, each once.
    ASSERT_TRUE(receiver_.wait_for_requests(2 * copies, 20s)) << receiver_.request_count();
    EXPECT_EQ(wait_for_json_lines(daemon_->events_path(), 2 * copies, 10s).size(), 2 * copies);
    std::this_thread::sleep_for(300ms);
    stop_daemon();
    EXPECT_EQ(count_record_ids(read_json_lines(daemon_->events_path())),
              (id_counts{{id, 2 * copies}}));
    EXPECT_EQ(count_request_ids(receiver_.requests()), (id_counts{{id, 2 * copies}}));
}

}  // namespace
}  // namespace seshook::testing
