#include "seshook/daemon/config_reload.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace seshook {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;

constexpr std::string_view sinks_text = R"(
[[sinks]]
type = "file"
name = "events"
path = "var/events.jsonl"

[[sinks]]
type = "log"
name = "log"
)";

config parse(const std::string& text) {
    return parse_config(text + std::string(sinks_text), "test.toml");
}

std::vector<std::string> keys_of(const std::vector<restart_only_change>& changes) {
    std::vector<std::string> keys;
    for (const auto& c : changes) keys.push_back(c.key);
    return keys;
}

TEST(KeepRestartOnly, NamesEachChangedKeyWithTheValueKept) {
    const config running = parse("[server]\nlisten = \"127.0.0.1:8080\"\n");
    const config fresh = parse(
        "[server]\nlisten = \"0.0.0.0:9090\"\nio_threads = 4\nrequest_timeout = \"20s\"\n"
        "[spool]\ndurability = \"memory\"\n[dedup]\nwindow = \"1h\"\n");
    std::vector<restart_only_change> changes;

    const config next = keep_restart_only(running, fresh, changes);

    EXPECT_THAT(keys_of(changes),
                ElementsAre("server.listen", "server.io_threads", "server.request_timeout",
                            "spool.durability", "dedup.window"));
    EXPECT_EQ(changes[0].kept, "127.0.0.1:8080");
    EXPECT_EQ(changes[1].kept, "0");
    EXPECT_EQ(changes[2].kept, "10000 ms");
    EXPECT_EQ(changes[3].kept, "fsync");
    EXPECT_EQ(next.server.listen_host, "127.0.0.1");
    EXPECT_EQ(next.server.listen_port, 8080);
    EXPECT_EQ(next.server.io_threads, 0u);
    EXPECT_EQ(next.spool.durability, durability_mode::fsync);
    EXPECT_EQ(next.dedup.window, running.dedup.window);
}

TEST(KeepRestartOnly, TakesWhatAppliesLive) {
    const config running = parse("");
    const config fresh = parse(
        "[server]\ncallback_path = \"/hook\"\nrate_limit = 5\nshutdown_grace = \"1s\"\n"
        "[auth]\ntokens = [\"0123456789abcdef0123\"]\n[schema]\nmode = \"strict\"\n"
        "[log]\nlevel = \"debug\"\nformat = \"json\"\naccess = true\n"
        "[spool]\nretry_after = \"9s\"\n");
    std::vector<restart_only_change> changes;

    const config next = keep_restart_only(running, fresh, changes);

    EXPECT_THAT(changes, IsEmpty());
    EXPECT_EQ(next.server.callback_path, "/hook");
    EXPECT_EQ(next.server.rate_limit, 5u);
    EXPECT_EQ(next.server.rate_burst, 10u);
    EXPECT_EQ(next.server.shutdown_grace, std::chrono::seconds(1));
    EXPECT_EQ(next.auth.tokens.size(), 1u);
    EXPECT_EQ(next.schema.mode, schema_mode::strict);
    EXPECT_EQ(next.log_level, "debug");
    EXPECT_EQ(next.log_output_format, log_format::json);
    EXPECT_TRUE(next.access_log);
    EXPECT_EQ(next.spool.retry_after, std::chrono::seconds(9));
}

TEST(KeepRestartOnly, ATlsTableAddedOrRemovedIsOneChange) {
    const config running = parse("");
    const config fresh =
        parse("[tls]\nlisten = \"127.0.0.1:8443\"\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n");
    std::vector<restart_only_change> changes;

    const config next = keep_restart_only(running, fresh, changes);

    EXPECT_THAT(keys_of(changes), ElementsAre("tls"));
    EXPECT_EQ(changes[0].kept, "no [tls] table");
    EXPECT_FALSE(next.tls.has_value());
    keep_restart_only(fresh, running, changes);
    EXPECT_THAT(keys_of(changes), ElementsAre("tls"));
}

TEST(PlanSinkChanges, FindsAddedChangedAndRemovedByName) {
    const config running = parse("");
    const config fresh = parse_config(R"(
[[sinks]]
type = "file"
name = "events"
path = "var/other.jsonl"

[[sinks]]
type = "file"
name = "audit"
path = "var/audit.jsonl"
)",
                                      "test.toml");

    const sink_plan plan = plan_sink_changes(running.sinks, fresh.sinks);

    EXPECT_THAT(plan.added, ElementsAre(1u));
    EXPECT_THAT(plan.changed, ElementsAre(0u));
    EXPECT_THAT(plan.removed, ElementsAre("log"));
}

TEST(PlanSinkChanges, UnchangedSinksInAnotherOrderAreLeftAlone) {
    const config running = parse("");
    const config fresh = parse_config(R"(
[[sinks]]
type = "log"
name = "log"

[[sinks]]
type = "file"
name = "events"
path = "var/events.jsonl"
)",
                                      "test.toml");

    const sink_plan plan = plan_sink_changes(running.sinks, fresh.sinks);

    EXPECT_THAT(plan.added, IsEmpty());
    EXPECT_THAT(plan.changed, IsEmpty());
    EXPECT_THAT(plan.removed, IsEmpty());
}

TEST(PlanSinkChanges, AFilterOrQueueChangeIsAChange) {
    const config running = parse("");
    config fresh = running;
    fresh.sinks[1].events = {"bounce"};
    EXPECT_THAT(plan_sink_changes(running.sinks, fresh.sinks).changed, ElementsAre(1u));
    fresh = running;
    fresh.sinks[0].queue_capacity = 5;
    EXPECT_THAT(plan_sink_changes(running.sinks, fresh.sinks).changed, ElementsAre(0u));
}

TEST(RetryAfterOf, IsWholeSecondsAndAtLeastOne) {
    spool_config spool;
    spool.retry_after = std::chrono::milliseconds(200);
    EXPECT_EQ(retry_after_of(spool), std::chrono::seconds(1));
    spool.retry_after = std::chrono::milliseconds(7500);
    EXPECT_EQ(retry_after_of(spool), std::chrono::seconds(7));
}

}  // namespace
}  // namespace seshook
