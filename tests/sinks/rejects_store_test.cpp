#include "seshook/sinks/rejects_store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/base64.hpp"
#include "support/temp_dir.hpp"

namespace seshook {
namespace {

using testing::decode_base64;
using testing::read_lines;
using ::testing::SizeIs;
using testing::temp_dir;

// Keeps each body in a fresh store and returns the lines of its file as JSON.
std::vector<nlohmann::json> keep_all(const std::filesystem::path& path,
                                     const std::vector<std::string>& bodies) {
    rejects_store store(path);
    store.start();
    for (const auto& body : bodies) store.keep("invalid_json", "not JSON", "203.0.113.7", body);
    store.stop();
    std::vector<nlohmann::json> lines;
    for (const auto& line : read_lines(path)) lines.push_back(nlohmann::json::parse(line));
    return lines;
}

TEST(RejectsStore, KeepsEveryFieldOfAUtf8BodyVerbatim) {
    temp_dir dir;
    const auto path = dir / "var" / "rejects.jsonl";
    const std::string body = "{\"event\":\"bounce\",\"email\":\"josé@example.com\"\n,}";

    const auto lines = keep_all(path, {body});

    ASSERT_THAT(lines, SizeIs(1));
    const auto& line = lines[0];
    EXPECT_EQ(line.at("body"), body);
    EXPECT_FALSE(line.contains("bodyBase64"));
    EXPECT_EQ(line.at("peer"), "203.0.113.7");
    EXPECT_EQ(line.at("reason"), "invalid_json");
    EXPECT_EQ(line.at("detail"), "not JSON");
    EXPECT_THAT(line.at("time").get<std::string>(),
                ::testing::MatchesRegex(
                    "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"));
}

TEST(RejectsStore, KeepsTheDocumentedFieldOrder) {
    temp_dir dir;
    const auto path = dir / "rejects.jsonl";
    rejects_store store(path);

    store.start();
    store.keep("missing_field", "field 'email' is missing", "127.0.0.1", "{}");
    store.stop();

    const auto lines = read_lines(path);
    ASSERT_THAT(lines, SizeIs(1));
    const auto time = lines[0].find("\"time\"");
    const auto peer = lines[0].find("\"peer\"");
    const auto reason = lines[0].find("\"reason\"");
    const auto detail = lines[0].find("\"detail\"");
    const auto body = lines[0].find("\"body\"");
    EXPECT_LT(time, peer);
    EXPECT_LT(peer, reason);
    EXPECT_LT(reason, detail);
    EXPECT_LT(detail, body);
}

TEST(RejectsStore, KeepsABinaryBodyAsBase64) {
    temp_dir dir;
    const auto path = dir / "rejects.jsonl";
    const std::vector<std::string> bodies{std::string("\xff\xfe\x00{\"a\":1}", 10),
                                          std::string("caf\xc3", 4), std::string("\x80", 1)};

    const auto lines = keep_all(path, bodies);

    ASSERT_EQ(lines.size(), bodies.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
        EXPECT_FALSE(lines[i].contains("body"));
        EXPECT_EQ(decode_base64(lines[i].at("bodyBase64").get<std::string>()), bodies[i]);
    }
}

TEST(RejectsStore, KeepsAnUndecodedBodyAsBase64WithItsEncoding) {
    temp_dir dir;
    const auto path = dir / "rejects.jsonl";
    rejects_store store(path);
    const std::string gzip_start("\x1f\x8b\x08\x00", 4);

    // Even bytes that are valid UTF-8 go in base64 once they are still encoded, so one recipe
    // (base64 -d, then the coding's decoder) gives every such body back.
    store.start();
    store.keep("invalid_gzip", "gzip data ends before its end", "127.0.0.1", gzip_start, "gzip");
    store.keep("unsupported_encoding", "not supported", "127.0.0.1", R"({"a":1})", "br");
    store.stop();

    const auto lines = read_lines(path);
    ASSERT_THAT(lines, SizeIs(2));
    const auto first = nlohmann::json::parse(lines[0]);
    const auto second = nlohmann::json::parse(lines[1]);
    EXPECT_EQ(first.at("contentEncoding"), "gzip");
    EXPECT_EQ(decode_base64(first.at("bodyBase64").get<std::string>()), gzip_start);
    EXPECT_EQ(second.at("contentEncoding"), "br");
    EXPECT_FALSE(second.contains("body"));
    EXPECT_EQ(decode_base64(second.at("bodyBase64").get<std::string>()), R"({"a":1})");
}

TEST(RejectsStore, KeepsAnEmptyBody) {
    temp_dir dir;
    const auto lines = keep_all(dir / "rejects.jsonl", {""});

    ASSERT_THAT(lines, SizeIs(1));
    EXPECT_EQ(lines[0].at("body"), "");
}

TEST(RejectsStore, CountsWhatItKeptFromManyThreads) {
    temp_dir dir;
    const auto path = dir / "rejects.jsonl";
    rejects_store store(path);
    const int threads = 4;
    const int per_thread = 100;

    store.start();
    std::vector<std::thread> peers;
    for (int t = 0; t < threads; ++t) {
        peers.emplace_back([&] {
            for (int i = 0; i < per_thread; ++i) store.keep("wrong_type", "", "::1", "[1]");
        });
    }
    for (auto& p : peers) p.join();
    store.stop();

    EXPECT_EQ(store.kept(), static_cast<std::size_t>(threads * per_thread));
    EXPECT_THAT(read_lines(path), SizeIs(threads * per_thread));
}

TEST(RejectsStore, ReopenWritesToTheNewFile) {
    temp_dir dir;
    const auto path = dir / "rejects.jsonl";
    const auto moved = dir / "rejects.jsonl.1";
    rejects_store store(path);

    store.start();
    store.keep("invalid_json", "", "127.0.0.1", "first");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (store.kept() < 1 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_EQ(store.kept(), 1u);
    std::filesystem::rename(path, moved);  // as logrotate does
    store.reopen();
    store.keep("invalid_json", "", "127.0.0.1", "second");
    store.stop();

    ASSERT_THAT(read_lines(moved), SizeIs(1));
    ASSERT_THAT(read_lines(path), SizeIs(1));
    EXPECT_EQ(nlohmann::json::parse(read_lines(path)[0]).at("body"), "second");
}

}  // namespace
}  // namespace seshook
