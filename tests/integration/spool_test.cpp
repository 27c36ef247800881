// End to end: the spool as the daemon uses it (the crash and dedup tests are in crash_test).

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "integration/integration_helpers.hpp"
#include "support/tiny_http_receiver.hpp"

namespace seshook::testing {
namespace {

using namespace std::chrono_literals;
using Spool = daemon_test;

TEST_F(Spool, FullSpoolAnswers503WithRetryAfterAndKeepsWhatItAccepted) {
    // A downstream that never answers holds its position at 0, so nothing is compacted and a
    // small spool fills up.
    tiny_http_receiver receiver(tiny_http_receiver::never_answer());
    daemon_options options;
    options.server_toml = "max_body_bytes = 4096\nshutdown_grace = \"500ms\"";
    options.tables_toml =
        "[spool]\nmax_bytes = 4096\nretry_after = \"7s\"\npath = \"{dir}/spool.db\"\n";
    options.sinks_toml = "[[sinks]]\ntype = \"forward\"\nname = \"stuck\"\nurl = \"" +
                         receiver.url("/hook") +
                         "\"\ntimeout = \"30s\"\ndead_letter_path = \"{dir}/dead.jsonl\"\n";
    auto& daemon = start_daemon(std::move(options));

    // Post distinct events until the spool refuses one.
    raw_connection connection(daemon.port());
    std::size_t accepted = 0;
    raw_response refusal;
    for (std::size_t i = 0; i < 100; ++i) {
        connection.send(make_post("/callback", sample_event(i)));
        auto response = connection.read_response();
        if (response.status == 200u) {
            ++accepted;
            continue;
        }
        refusal = std::move(response);
        break;
    }
    ASSERT_EQ(refusal.status, 503u) << "accepted " << accepted << " events without refusing one";
    EXPECT_EQ(refusal.header("Retry-After"), "7");
    EXPECT_EQ(nlohmann::json::parse(refusal.body).value("error", ""), "spool_full");
    EXPECT_GT(accepted, 5u);
    EXPECT_TRUE(daemon.wait_for_log("the spool is full", 5s));

    // Every event it did accept is in the file sink, which the stuck one does not slow down.
    EXPECT_EQ(wait_for_json_lines(daemon.events_path(), accepted, 5s).size(), accepted);

    // The refused body is not kept: the sender was told to send it again.
    EXPECT_TRUE(read_json_lines(daemon.rejects_path()).empty());

    // Shutdown leaves the events the downstream did not get in the spool, not in rejects.
    daemon.send_signal(SIGTERM);
    ASSERT_EQ(daemon.wait_exit(15s), 0);
    EXPECT_TRUE(daemon.log_contains("stay in the spool for the next start"));
    EXPECT_TRUE(read_json_lines(daemon.rejects_path()).empty());
    EXPECT_TRUE(read_json_lines(daemon.dir() / "dead.jsonl").empty());
}

TEST_F(Spool, ConfigMistakesNameTheKey) {
    const auto dir = make_temp_dir();
    const auto check = [&](const std::string& toml) {
        const auto path = dir / "seshook.toml";
        std::ofstream(path) << toml;
        return run_seshook({"--check-config", "--config", path.string()}, dir);
    };
    auto result = check("[spool]\ndurability = \"sometimes\"\n");
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("spool.durability"), std::string::npos) << result.err;

    result = check("[spool]\nmax_bytes = 5000\n");
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("spool.max_bytes: must be at least server.max_body_bytes"),
              std::string::npos)
        << result.err;

    result = check("[dedup]\nwindow = 24\n");
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("dedup.window"), std::string::npos) << result.err;

    result = check("[dedup]\nenable = true\n");
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("dedup.enable: unknown key"), std::string::npos) << result.err;
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace seshook::testing
