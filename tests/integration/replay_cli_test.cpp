// End to end: `seshook replay` hands stored events to one sink of a config and exits with
// 0 (all replayed), 1 (some not) or 2 (a usage or config mistake).

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "integration/integration_helpers.hpp"
#include "support/temp_dir.hpp"

namespace seshook::testing {
namespace {

using namespace std::chrono_literals;

// Bytes a re-serialisation would change: key order, a number's spelling, an escape, an
// unknown key.
const std::string quirky_event =
    R"({"event":"bounce","email":"q@example.com","bulkId":"qcloudses-9","timestamp":1717251899,)"
    R"("reason":"550 caf\u00e9","bounceType":"hard_bounce","extra":1.50})";

class ReplayCommand : public daemon_test {
protected:
    // Writes a config with a file sink "again" (at again.jsonl) and a file sink "opens" that
    // takes only open events, and returns its path.
    std::filesystem::path write_replay_config() {
        const auto path = dir_ / "replay.toml";
        std::ofstream(path) << R"([rejects]
path = "rejects.jsonl"

[[sinks]]
type = "file"
name = "again"
path = "again.jsonl"

[[sinks]]
type = "file"
name = "opens"
path = "opens.jsonl"
events = ["open"]
)";
        return path;
    }

    std::filesystem::path write_input(const std::vector<std::string>& lines) {
        const auto path = dir_ / "input.jsonl";
        std::ofstream out(path, std::ios::binary);
        for (const auto& line : lines) out << line << '\n';
        return path;
    }

    command_result replay(const std::vector<std::string>& arguments) {
        std::vector<std::string> all{"replay"};
        all.insert(all.end(), arguments.begin(), arguments.end());
        return run_seshook(all, dir_.path());
    }

    temp_dir dir_;
};

TEST_F(ReplayCommand, ReplaysTheDaemonsRecordsWithTheSameIdsAndPayloadBytes) {
    // The daemon takes three events (one batch of two) into its file sink, then stops.
    auto& daemon = start_daemon();
    const std::string batch = "[" + sample_event(1) + "," + sample_event(2) + "]";
    for (const auto& body : {quirky_event, batch}) {
        ASSERT_EQ(send_once(daemon.port(), make_post("/callback", body)).status, 200u);
    }
    ASSERT_EQ(wait_for_json_lines(daemon.events_path(), 3, 5s).size(), 3u);
    daemon.send_signal(SIGTERM);
    ASSERT_EQ(daemon.wait_exit(10s), 0);
    const auto stored = read_lines(daemon.events_path());

    // Its records file replayed into another file sink gives the very same lines.
    const auto result = replay({"--config", write_replay_config().string(), "--sink", "again",
                                daemon.events_path().string()});
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
    EXPECT_EQ(read_lines(dir_ / "again.jsonl"), stored);
    EXPECT_NE(result.out.find("read 3, replayed 3, dead-lettered 0, failed 0, skipped by filter "
                              "0, invalid 0"),
              std::string::npos)
        << result.out;

    const auto records = read_json_lines(dir_ / "again.jsonl");
    ASSERT_EQ(records.size(), 3u);
    EXPECT_EQ(records[0]["id"], expected_id(nlohmann::json::parse(quirky_event)));
    EXPECT_NE(
        stored[0].find(R"("reason":"550 caf\u00e9","bounceType":"hard_bounce","extra":1.50})"),
        std::string::npos)
        << stored[0];
}

TEST_F(ReplayCommand, EventsTheFilterRefusesAreSkippedAndExit0) {
    const auto input = write_input({
        R"({"id":"x","receivedAt":"2026-12-03T19:10:12.345Z","peer":"203.0.113.7","payload":)" +
            quirky_event + "}",
    });
    const auto result =
        replay({"--config", write_replay_config().string(), "--sink", "opens", input.string()});
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
    EXPECT_NE(result.out.find("skipped by filter 1"), std::string::npos) << result.out;
    EXPECT_TRUE(read_lines(dir_ / "opens.jsonl").empty());
}

TEST_F(ReplayCommand, AnInvalidLineIsReportedAndExits1) {
    const auto input = write_input({
        R"({"id":"x","receivedAt":"2026-12-03T19:10:12.345Z","peer":"203.0.113.7","payload":)" +
            quirky_event + "}",
        "not json",
    });
    const auto result =
        replay({"--config", write_replay_config().string(), "--sink", "again", input.string()});
    EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
    EXPECT_NE(result.err.find("input.jsonl:2: not valid JSON"), std::string::npos) << result.err;
    EXPECT_NE(result.out.find("replayed 1"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find("invalid 1"), std::string::npos) << result.out;
    EXPECT_EQ(read_lines(dir_ / "again.jsonl").size(), 1u);
}

TEST_F(ReplayCommand, AnUnknownSinkIsNamedWithTheConfiguredOnesAndExits2) {
    const auto input = write_input({});
    const auto result =
        replay({"--config", write_replay_config().string(), "--sink", "crm", input.string()});
    EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
    EXPECT_NE(result.err.find("no sink named \"crm\""), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("again, opens"), std::string::npos) << result.err;
}

TEST_F(ReplayCommand, UsageAndConfigMistakesExit2) {
    const auto input = write_input({});
    const auto config = write_replay_config().string();

    // No --sink; no input; a missing input file; a missing config.
    EXPECT_EQ(replay({"--config", config, input.string()}).exit_code, 2);
    EXPECT_EQ(replay({"--config", config, "--sink", "again"}).exit_code, 2);
    auto result = replay({"--config", config, "--sink", "again", "missing.jsonl"});
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.err.find("missing.jsonl"), std::string::npos) << result.err;
    result = replay({"--config", "nowhere.toml", "--sink", "again", input.string()});
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.err.find("nowhere.toml"), std::string::npos) << result.err;
}

TEST_F(ReplayCommand, HelpDescribesTheSubcommand) {
    const auto result = replay({"--help"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    for (const char* option : {"--config", "--sink", "input"}) {
        EXPECT_NE(result.out.find(option), std::string::npos) << option << "\n" << result.out;
    }
}

}  // namespace
}  // namespace seshook::testing
