// End to end: the spool as the daemon uses it (the crash and dedup tests are in crash_test).

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>

#include "integration/integration_helpers.hpp"
#include "support/tiny_http_receiver.hpp"

namespace seshook::testing {
namespace {

using namespace std::chrono_literals;
using Spool = daemon_test;

// Options for a daemon in `dir` whose only sink, `name`, forwards to `url`, a downstream that
// keeps failing: the events it accepts stay in the spool, and a stop leaves them there.
daemon_options backlog_options(const std::filesystem::path& dir, const std::string& name,
                               const std::string& url) {
    daemon_options options;
    options.dir = dir;
    options.file_sink = false;
    options.server_toml = "shutdown_grace = \"200ms\"";
    options.sinks_toml = "[[sinks]]\ntype = \"forward\"\nname = \"" + name + "\"\nurl = \"" + url +
                         "\"\nmax_attempts = 100\nbackoff_initial = \"1s\"\nbackoff_max = \"1s\"\n"
                         "dead_letter_path = \"{dir}/dead.jsonl\"\n";
    return options;
}

// Leaves `count` events in the spool of `options`'s folder.
void leave_backlog(const daemon_options& options, std::size_t count) {
    daemon_process daemon(options);
    for (std::size_t i = 0; i < count; ++i) {
        ASSERT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(i))).status, 200u);
    }
    daemon.send_signal(SIGTERM);
    ASSERT_EQ(daemon.wait_exit(10s), 0);
}

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

TEST_F(Spool, CorruptSpoolIsMovedAsideAndItsEventsStillDelivered) {
    // A first run whose only sink forwards to a downstream that keeps failing, so that its
    // events stay in the spool.
    const temp_dir dir;
    tiny_http_receiver failing(tiny_http_receiver::answer_always(503));
    auto options = backlog_options(dir.path(), "later", failing.url("/hook"));
    ASSERT_NO_FATAL_FAILURE(leave_backlog(options, 5));

    // Damage the header of the spool, as a disk or a careless copy might.
    const auto spool = dir.path() / "var" / "spool.db";
    ASSERT_TRUE(std::filesystem::exists(spool));
    {
        std::fstream file(spool, std::ios::in | std::ios::out | std::ios::binary);
        file.write("this is not an SQLite file at all", 33);
    }

    // The next start says so, keeps the damaged file aside, and still delivers the 5 events to
    // the sink of the same name, a file this time.
    options.sinks_toml =
        "[[sinks]]\ntype = \"file\"\nname = \"later\"\npath = \"{dir}/later.jsonl\"\n";
    daemon_process second(options);
    EXPECT_TRUE(second.wait_for_log("was corrupt", 5s)) << second.log_text();
    EXPECT_EQ(wait_for_json_lines(dir.path() / "later.jsonl", 5, 10s).size(), 5u)
        << second.log_text();
    bool moved_aside = false;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path() / "var")) {
        moved_aside =
            moved_aside || entry.path().filename().string().starts_with("spool.db.corrupt-");
    }
    EXPECT_TRUE(moved_aside);
}

TEST_F(Spool, BacklogSurvivesAMemoryModeRunAndARenamedSink) {
    // A first run leaves 5 events in the spool: its only sink forwards to a failing downstream.
    const temp_dir dir;
    tiny_http_receiver failing(tiny_http_receiver::answer_always(503));
    const auto options = backlog_options(dir.path(), "crm", failing.url("/hook"));
    ASSERT_NO_FATAL_FAILURE(leave_backlog(options, 5));
    const auto run_once = [&](const daemon_options& run) {
        daemon_process daemon(run);
        const auto log = daemon.log_text();
        daemon.send_signal(SIGTERM);
        EXPECT_EQ(daemon.wait_exit(10s), 0);
        return log;
    };

    // A run in memory mode leaves the spool alone, and says so.
    auto memory = options;
    memory.tables_toml = "[spool]\ndurability = \"memory\"\n";
    EXPECT_NE(run_once(memory).find("events still waiting in it are not delivered"),
              std::string::npos);

    // Back with a spool, the sink renamed (and now a file): it gets the backlog of its old name.
    auto renamed = options;
    renamed.sinks_toml =
        "[[sinks]]\ntype = \"file\"\nname = \"crm_v2\"\npath = \"{dir}/crm.jsonl\"\n";
    daemon_process third(renamed);
    EXPECT_EQ(wait_for_json_lines(dir.path() / "crm.jsonl", 5, 10s).size(), 5u) << third.log_text();
    EXPECT_TRUE(third.log_contains("sink crm_v2 is new to the spool: it starts with the 5 events"))
        << third.log_text();
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
