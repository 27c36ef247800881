// End to end: SIGHUP re-reads the config file. Sinks added, changed and removed take effect
// without losing a queued event, tokens rotate, a broken file changes nothing, and what needs a
// restart is named and kept.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <set>
#include <string>
#include <vector>

#include "integration/integration_helpers.hpp"
#include "support/tiny_http_receiver.hpp"

namespace seshook::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr auto reload_timeout = 10s;

// A forward sink "downstream" to `url` that retries for long: an event it cannot hand over stays
// queued behind it.
std::string forward_toml(const std::string& url) {
    return "[[sinks]]\ntype = \"forward\"\nname = \"downstream\"\nurl = \"" + url +
           "\"\ndead_letter_path = \"{dir}/dead-letter.jsonl\"\ntimeout = \"2s\"\n"
           "max_attempts = 100\nbackoff_initial = \"20ms\"\nbackoff_max = \"100ms\"\n";
}

// A second file sink "audit" writing {dir}/audit.jsonl.
constexpr std::string_view audit_toml =
    "[[sinks]]\ntype = \"file\"\nname = \"audit\"\npath = \"{dir}/audit.jsonl\"\n";

// Rewrites the config of `daemon` from `options`, sends SIGHUP and waits for the reload to be
// done: the n-th "[reload]" summary or error line since start.
void reload(daemon_process& daemon, const daemon_options& options, std::string_view outcome,
            std::size_t nth = 1) {
    daemon.rewrite_config(options);
    daemon.send_signal(SIGHUP);
    const auto deadline = std::chrono::steady_clock::now() + reload_timeout;
    for (;;) {
        std::size_t seen = 0;
        const std::string log = daemon.log_text();
        for (auto at = log.find(outcome); at != std::string::npos; at = log.find(outcome, at + 1)) {
            ++seen;
        }
        if (seen >= nth) return;
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no \"" << outcome << "\"";
        std::this_thread::sleep_for(20ms);
    }
}

// Posts the events numbered [first, last) one request each; all must be answered 200.
void post_events(const daemon_process& daemon, std::size_t first, std::size_t last,
                 const std::string& path = "/callback") {
    raw_connection connection(daemon.port());
    for (std::size_t n = first; n < last; ++n) {
        connection.send(make_post(path, sample_event(n)));
        ASSERT_EQ(connection.read_response().status, 200u) << "event " << n;
    }
}

std::set<std::string> emails_of(const std::vector<nlohmann::json>& records) {
    std::set<std::string> emails;
    for (const auto& r : records) emails.insert(r.at("payload").at("email").get<std::string>());
    return emails;
}

// The recipients of the events a receiver was sent.
std::set<std::string> emails_at(const tiny_http_receiver& receiver) {
    std::set<std::string> emails;
    for (const auto& request : receiver.requests()) {
        const auto body = nlohmann::json::parse(request.body, nullptr, false);
        if (body.is_object() && body.contains("email")) {
            emails.insert(body["email"].get<std::string>());
        }
    }
    return emails;
}

std::set<std::string> emails_between(std::size_t first, std::size_t last) {
    std::set<std::string> emails;
    for (std::size_t n = first; n < last; ++n)
        emails.insert("user" + std::to_string(n) + "@example.com");
    return emails;
}

class Reload : public daemon_test {
protected:
    // Checks the sink changes in the given durability: a file sink is added, and the forward
    // sink's URL moves from a downstream that refuses everything (so that events queue behind
    // it) to one that takes them. Every event reaches the new set, none is lost.
    void check_sink_changes(const std::string& durability) {
        tiny_http_receiver refusing(tiny_http_receiver::answer_always(503));
        tiny_http_receiver taking;
        daemon_options options;
        options.server_toml = "shutdown_grace = \"1s\"";
        options.tables_toml =
            "[spool]\ndurability = \"" + durability + "\"\npath = \"{dir}/spool.db\"\n";
        options.sinks_toml = forward_toml(refusing.url());
        auto& daemon = start_daemon(options);

        // Events queue behind the refusing downstream.
        post_events(daemon, 0, 20);
        ASSERT_TRUE(refusing.wait_for_requests(2, 5s));

        // Add a file sink and point the forward sink elsewhere.
        options.sinks_toml = forward_toml(taking.url()) + std::string(audit_toml);
        reload(daemon, options, "reloaded: ");
        EXPECT_TRUE(daemon.log_contains("[reload] file 'audit' added"));
        EXPECT_TRUE(daemon.log_contains("[reload] forward 'downstream' changed"));

        // Events after the reload reach the new set. With the spool, the new file sink also
        // starts with the events still there: all of them, as the old downstream took none.
        post_events(daemon, 20, 30);
        const std::size_t audited = durability == "memory" ? 10 : 30;
        const auto audit = wait_for_json_lines(daemon.dir() / "audit.jsonl", audited, 10s);
        EXPECT_EQ(audit.size(), audited);
        const auto in_audit = emails_of(audit);
        for (const auto& email : emails_between(20, 30)) {
            EXPECT_TRUE(in_audit.contains(email)) << email;
        }

        // None of those queued before it is lost: each is at the new downstream or, in memory
        // mode only, the one the old sink was busy with when it was replaced may be in the
        // rejects file.
        ASSERT_TRUE(taking.wait_for_requests(durability == "memory" ? 29 : 30, 10s));
        auto delivered = emails_at(taking);
        for (const auto& reject : read_json_lines(daemon.rejects_path())) {
            const auto body = nlohmann::json::parse(reject.value("body", ""), nullptr, false);
            if (body.is_object()) delivered.insert(body.value("email", ""));
        }
        const auto every = emails_between(0, 30);
        for (const auto& email : every) EXPECT_TRUE(delivered.contains(email)) << email;
        EXPECT_EQ(emails_of(read_json_lines(daemon.events_path())), every);

        daemon.send_signal(SIGTERM);
        EXPECT_EQ(daemon.wait_exit(15s), 0);
    }
};

TEST_F(Reload, SinkChangesLoseNoEventWithTheSpool) { check_sink_changes("fsync"); }

TEST_F(Reload, SinkChangesLoseNoEventInMemory) { check_sink_changes("memory"); }

TEST_F(Reload, ARemovedSinkGetsNothingMore) {
    daemon_options options;
    options.sinks_toml = std::string(audit_toml);
    auto& daemon = start_daemon(options);
    post_events(daemon, 0, 3);
    ASSERT_EQ(wait_for_json_lines(daemon.dir() / "audit.jsonl", 3, 5s).size(), 3u);

    options.sinks_toml.clear();
    reload(daemon, options, "reloaded: ");
    EXPECT_TRUE(daemon.log_contains("[reload] sink 'audit' removed"));
    post_events(daemon, 3, 6);

    ASSERT_EQ(wait_for_json_lines(daemon.events_path(), 6, 5s).size(), 6u);
    EXPECT_EQ(read_json_lines(daemon.dir() / "audit.jsonl").size(), 3u);
}

TEST_F(Reload, ABrokenConfigIsRefusedAndTheOldOneKeepsServing) {
    daemon_options options;
    options.server_toml = "rate_limit = 0";
    auto& daemon = start_daemon(options);
    post_events(daemon, 0, 1);

    // A wrong type, and a sink that the file sink factory refuses.
    options.server_toml = "rate_limit = \"fast\"";
    reload(daemon, options, "the running config stays in force");
    EXPECT_TRUE(daemon.log_contains("server.rate_limit"));
    options.server_toml.clear();
    options.sinks_toml = "[[sinks]]\ntype = \"file\"\nname = \"audit\"\n";
    reload(daemon, options, "the running config stays in force", 2);
    EXPECT_TRUE(daemon.log_contains("sinks[1].path"));

    // The daemon still serves with the old config: the events reach the one file sink.
    post_events(daemon, 1, 3);
    EXPECT_EQ(wait_for_json_lines(daemon.events_path(), 3, 5s).size(), 3u);
    EXPECT_FALSE(daemon.log_contains("reloaded: "));
    EXPECT_FALSE(std::filesystem::exists(daemon.dir() / "audit.jsonl"));
    daemon.send_signal(SIGTERM);
    EXPECT_EQ(daemon.wait_exit(15s), 0);
}

TEST_F(Reload, RotatesTokensWithoutARestart) {
    const std::string old_token = "old-token-0123456789abcdef";
    const std::string new_token = "new-token-0123456789abcdef";
    daemon_options options;
    options.tables_toml = "[auth]\ntokens = [\"" + old_token + "\"]\n";
    auto& daemon = start_daemon(options);
    post_events(daemon, 0, 1, "/callback/" + old_token);

    options.tables_toml = "[auth]\ntokens = [\"" + new_token + "\"]\n";
    reload(daemon, options, "reloaded: ");

    EXPECT_EQ(send_once(daemon.port(), make_post("/callback/" + old_token, sample_event(1))).status,
              404u);
    EXPECT_EQ(send_once(daemon.port(), make_post("/callback/" + new_token, sample_event(2))).status,
              200u);
    EXPECT_FALSE(daemon.log_contains(old_token));
    EXPECT_FALSE(daemon.log_contains(new_token));
}

TEST_F(Reload, AppliesTheNewSchemaModeAndRateLimit) {
    daemon_options options;
    auto& daemon = start_daemon(options);
    // A timestamp as a digit string passes in lenient mode only.
    const std::string digit_string = R"({"event":"delivered","email":"a@example.com",)"
                                     R"("bulkId":"b","timestamp":"1717251879"})";
    EXPECT_EQ(send_once(daemon.port(), make_post("/callback", digit_string)).status, 200u);

    options.schema_toml = "mode = \"strict\"";
    options.server_toml = "rate_limit = 1\nrate_burst = 1";
    reload(daemon, options, "reloaded: ");

    raw_connection connection(daemon.port());
    connection.send(make_post("/callback", digit_string));
    EXPECT_EQ(connection.read_response().status, 400u);
    connection.send(make_post("/callback", sample_event(1)));
    EXPECT_EQ(connection.read_response().status, 429u);
}

TEST_F(Reload, KeepsTheListenAddressUntilARestart) {
    daemon_options options;
    auto& daemon = start_daemon(options);

    options.listen = "127.0.0.1:1";
    options.server_toml = "io_threads = 3";
    reload(daemon, options, "reloaded: ");

    EXPECT_TRUE(daemon.log_contains(
        "[reload] server.listen changed: needs a restart, keeping 127.0.0.1:0"));
    EXPECT_TRUE(
        daemon.log_contains("[reload] server.io_threads changed: needs a restart, keeping 0"));
    post_events(daemon, 0, 2);
    EXPECT_EQ(wait_for_json_lines(daemon.events_path(), 2, 5s).size(), 2u);
}

TEST_F(Reload, ChangesTheLogFormat) {
    daemon_options options;
    auto& daemon = start_daemon(options);

    options.log_toml = "format = \"json\"";
    reload(daemon, options, "reloaded: ");
    post_events(daemon, 0, 1);
    daemon.send_signal(SIGTERM);
    ASSERT_EQ(daemon.wait_exit(15s), 0);

    // Every line after the reload's summary is JSON.
    const std::string log = daemon.log_text();
    const auto summary = log.find("reloaded: ");
    ASSERT_NE(summary, std::string::npos);
    std::istringstream after(log.substr(log.find('\n', summary) + 1));
    std::size_t lines = 0;
    for (std::string line; std::getline(after, line); ++lines) {
        EXPECT_FALSE(nlohmann::json::parse(line, nullptr, false).is_discarded()) << line;
    }
    EXPECT_GT(lines, 0u);
}

}  // namespace
}  // namespace seshook::testing
