#include "seshook/support/jsonl_appender.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/file_size_limit.hpp"
#include "support/temp_dir.hpp"

namespace seshook {
namespace {

using ::testing::ElementsAre;
using testing::file_size_limit;
using testing::read_file;
using testing::read_lines;
using testing::temp_dir;

// Waits until `done` holds, polling briefly; false when `timeout` passed first.
template <typename Condition>
bool eventually(Condition done, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

TEST(JsonlAppender, EveryLineArrivesAfterStop) {
    temp_dir dir;
    const auto path = dir / "var" / "rejects.jsonl";
    jsonl_appender appender(path, "rejects");
    const int threads = 4;
    const int per_thread = 500;

    appender.start();
    std::vector<std::thread> producers;
    for (int t = 0; t < threads; ++t) {
        producers.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                appender.append(R"({"t":)" + std::to_string(t) + R"(,"i":)" + std::to_string(i) +
                                "}");
            }
        });
    }
    for (auto& p : producers) p.join();
    appender.stop();

    const auto lines = read_lines(path);
    const std::set<std::string> distinct(lines.begin(), lines.end());
    EXPECT_EQ(lines.size(), static_cast<std::size_t>(threads * per_thread));
    EXPECT_EQ(distinct.size(), lines.size());
    EXPECT_EQ(appender.written(), lines.size());
}

TEST(JsonlAppender, KeepsTheOrderOfOneProducer) {
    temp_dir dir;
    const auto path = dir / "lines.jsonl";
    jsonl_appender appender(path, "test");
    std::vector<std::string> sent;
    for (int i = 0; i < 200; ++i) sent.push_back(std::to_string(i));

    appender.start();
    for (const auto& line : sent) appender.append(line);
    appender.stop();

    EXPECT_EQ(read_lines(path), sent);
}

TEST(JsonlAppender, SmallBacklogLimitSlowsProducersButLosesNothing) {
    temp_dir dir;
    const auto path = dir / "lines.jsonl";
    jsonl_appender appender(path, "test", 64);
    const int count = 2000;

    appender.start();
    for (int i = 0; i < count; ++i) appender.append("line number " + std::to_string(i));
    appender.stop();

    EXPECT_EQ(read_lines(path).size(), static_cast<std::size_t>(count));
}

TEST(JsonlAppender, WritesWithoutWaitingForStop) {
    temp_dir dir;
    const auto path = dir / "lines.jsonl";
    jsonl_appender appender(path, "test");

    appender.start();
    appender.append("soon");

    // Each batch is flushed, so the line shows up while the writer still runs.
    EXPECT_TRUE(eventually([&] { return read_lines(path).size() == 1; }));
    EXPECT_EQ(appender.written(), 1u);
}

TEST(JsonlAppender, ReopenWritesToTheNewFile) {
    temp_dir dir;
    const auto path = dir / "lines.jsonl";
    const auto moved = dir / "lines.jsonl.1";
    jsonl_appender appender(path, "test");

    appender.start();
    appender.append("before");
    ASSERT_TRUE(eventually([&] { return appender.written() == 1; }));
    std::filesystem::rename(path, moved);  // as logrotate does
    appender.reopen();
    appender.append("after");
    appender.stop();

    EXPECT_THAT(read_lines(moved), ElementsAre("before"));
    EXPECT_THAT(read_lines(path), ElementsAre("after"));
}

TEST(JsonlAppender, AppendAfterStopIsStillWritten) {
    temp_dir dir;
    const auto path = dir / "lines.jsonl";
    jsonl_appender appender(path, "test");

    appender.start();
    appender.append("while running");
    appender.stop();
    appender.append("after stop");

    EXPECT_THAT(read_lines(path), ElementsAre("while running", "after stop"));
    EXPECT_EQ(appender.written(), 2u);
}

TEST(JsonlAppender, FullDiskCountsOnlyWholeLinesAndWritesTheRestLater) {
    temp_dir dir;
    const auto path = dir / "lines.jsonl";
    jsonl_appender appender(path, "test");
    std::vector<std::string> sent;
    for (int i = 0; i < 30; ++i) {
        std::string line = R"({"i":)" + std::to_string(i) + R"(,"pad":")";
        line.resize(58, 'x');
        sent.push_back(line + "\"}");
    }
    const std::size_t line_bytes = sent[0].size() + 1;
    const std::size_t fitting = 10;

    // The limit falls in the middle of a line: only the lines before it fit.
    appender.start();
    {
        file_size_limit limit(fitting * line_bytes + line_bytes / 2);
        for (const auto& line : sent) appender.append(line);
        ASSERT_TRUE(eventually([&] { return appender.written() >= fitting; }));

        // The writer has met the limit; what it counts is exactly what the file holds.
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        EXPECT_EQ(appender.written(), fitting);
        const std::vector<std::string> first(sent.begin(), sent.begin() + fitting);
        EXPECT_EQ(read_lines(path), first);
        EXPECT_EQ(read_file(path).size(), fitting * line_bytes);
    }

    // Once there is room, the writer retries and every line arrives whole, once, in order.
    EXPECT_TRUE(eventually([&] { return appender.written() == sent.size(); }));
    appender.stop();
    const auto lines = read_lines(path);
    EXPECT_EQ(lines, sent);
    for (const auto& line : lines) EXPECT_TRUE(nlohmann::json::accept(line)) << line;
}

TEST(JsonlAppender, StartFailsWhenTheFileCannotBeOpened) {
    temp_dir dir;
    const auto path = dir / "lines.jsonl";
    std::filesystem::create_directory(path);  // a folder where the file should be
    jsonl_appender appender(path, "test");

    EXPECT_THROW(appender.start(), std::system_error);
}

}  // namespace
}  // namespace seshook
