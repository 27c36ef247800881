// End to end: the command line (--help, --version, --check-config) and refusals to start.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "integration/integration_helpers.hpp"
#include "support/temp_dir.hpp"

namespace seshook::testing {
namespace {

using namespace std::chrono_literals;

class CommandLine : public ::testing::Test {
protected:
    // Writes `text` as a config file in the test's folder and returns its path.
    std::filesystem::path write_config(const std::string& name, const std::string& text) {
        const auto path = dir_ / name;
        std::ofstream(path) << text;
        return path;
    }

    command_result run(const std::vector<std::string>& arguments) {
        return run_seshook(arguments, dir_.path());
    }

    temp_dir dir_;
};

TEST_F(CommandLine, HelpListsTheOptionsAndExits0) {
    const auto result = run({"--help"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    for (const char* option : {"--config", "--check-config", "--version", "--log-level"}) {
        EXPECT_NE(result.out.find(option), std::string::npos) << option << "\n" << result.out;
    }
}

TEST_F(CommandLine, VersionPrintsTheVersion) {
    const auto result = run({"--version"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE(result.out.find(SESHOOK_EXPECTED_VERSION), std::string::npos) << result.out;
}

TEST_F(CommandLine, UnknownOptionFailsWithExit1) {
    const auto result = run({"--no-such-option"});
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("no-such-option"), std::string::npos) << result.err;
}

TEST_F(CommandLine, CheckConfigAcceptsTheShippedConfig) {
    const auto shipped = source_dir() / "config/seshook.toml";
    const auto result = run({"--check-config", "--config", shipped.string()});
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;

    // Checking opens nothing: no files appear where the config points.
    EXPECT_TRUE(std::filesystem::is_empty(dir_.path()));
}

TEST_F(CommandLine, CheckConfigAcceptsAGoodConfig) {
    const auto path = write_config("good.toml", R"([server]
listen = "127.0.0.1:8081"
request_timeout = "2s"

[schema]
mode = "strict"

[[sinks]]
type = "file"
name = "events"
path = "out/events.jsonl"
events = ["bounce", "dropped"]

[[sinks]]
type = "forward"
name = "crm"
url = "http://127.0.0.1:9/hook"
headers = { Authorization = "Bearer x" }
)");
    const auto result = run({"--check-config", "--config", path.string()});
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
}

TEST_F(CommandLine, CheckConfigRefusesAnUnknownKeyNamingItAndTheFile) {
    const auto path =
        write_config("bad.toml", "[server]\nlisten = \"127.0.0.1:0\"\nlisten_port = 8080\n");
    const auto result = run({"--check-config", "--config", path.string()});
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("listen_port"), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("bad.toml"), std::string::npos) << result.err;
}

TEST_F(CommandLine, CheckConfigRefusesAWrongTypeNamingTheKey) {
    const auto path = write_config("bad.toml", "[server]\nmax_body_bytes = \"1MB\"\n");
    const auto result = run({"--check-config", "--config", path.string()});
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("max_body_bytes"), std::string::npos) << result.err;
}

TEST_F(CommandLine, CheckConfigRefusesABadSinkNamingTheKey) {
    const auto unknown_key = write_config("sink.toml", R"([[sinks]]
type = "file"
name = "events"
path = "events.jsonl"
max_byte = 10
)");
    auto result = run({"--check-config", "--config", unknown_key.string()});
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("max_byte"), std::string::npos) << result.err;

    const auto bad_url = write_config("url.toml", R"([[sinks]]
type = "forward"
name = "crm"
url = "ftp://example.com/"
)");
    result = run({"--check-config", "--config", bad_url.string()});
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("url"), std::string::npos) << result.err;
}

TEST_F(CommandLine, MissingConfigFileIsNamed) {
    const auto missing = dir_ / "nowhere.toml";
    const auto result = run({"--check-config", "--config", missing.string()});
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("nowhere.toml"), std::string::npos) << result.err;
}

TEST_F(CommandLine, BadConfigStopsTheDaemonBeforeItStarts) {
    const auto path = write_config("bad.toml", "[schema]\nmode = \"picky\"\n");
    const auto result = run({"--config", path.string()});
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("mode"), std::string::npos) << result.err;
}

TEST_F(CommandLine, PortInUseStopsTheDaemonWithExit1) {
    daemon_process first;
    const auto path = write_config(
        "clash.toml", "[server]\nlisten = \"127.0.0.1:" + std::to_string(first.port()) +
                          "\"\n\n[rejects]\npath = \"rejects.jsonl\"\n\n"
                          "[[sinks]]\ntype = \"log\"\nname = \"log\"\n");
    const auto result = run({"--config", path.string()});
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("cannot listen"), std::string::npos) << result.err;

    // The first daemon is unharmed.
    EXPECT_EQ(send_once(first.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status, 200u);
}

TEST_F(CommandLine, LogLevelOptionOverridesTheConfig) {
    // The config says info; debug lines appear only through the option.
    daemon_options options;
    options.arguments = {"--log-level", "debug"};
    daemon_process daemon(options);
    {
        raw_connection connection(daemon.port());
        connection.send("POST /callback HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{");
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(daemon.wait_for_log("closed the connection mid-request", 5s)) << daemon.log_text();
}

}  // namespace
}  // namespace seshook::testing
