#include "seshook/sinks/file_sink.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/file_size_limit.hpp"
#include "support/log_capture.hpp"
#include "support/recording_sink.hpp"
#include "support/temp_dir.hpp"

namespace seshook {
namespace {

using testing::file_size_limit;
using testing::make_test_record;
using testing::read_lines;
using ::testing::SizeIs;
using testing::temp_dir;

std::filesystem::path rotation(const std::filesystem::path& path, int n) {
    return std::filesystem::path(path.string() + "." + std::to_string(n));
}

TEST(FileSink, WritesEachRecordAsOneJsonLine) {
    temp_dir dir;
    const auto path = dir / "var" / "events.jsonl";
    file_sink s("file", {}, {path, 0, 0});
    const std::vector<record> records{make_test_record("bounce", "a@example.com", 1, "551 5.1.1"),
                                      make_test_record("open", "b@example.com", 2),
                                      make_test_record("processed", "c@example.com", 3)};

    s.open();
    for (const auto& r : records) EXPECT_EQ(s.consume(r, {}), delivery_outcome::delivered);
    s.close();

    const auto lines = read_lines(path);
    ASSERT_EQ(lines.size(), records.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto line = nlohmann::json::parse(lines[i]);
        EXPECT_EQ(line.at("id"), records[i].event.id);
        EXPECT_EQ(line.at("receivedAt"), records[i].received_at);
        EXPECT_EQ(line.at("peer"), records[i].peer);
        EXPECT_EQ(line.at("payload"), nlohmann::json::parse(records[i].event.raw));
    }
    EXPECT_EQ(nlohmann::json::parse(lines[2]).value("unknownEvent", false), true);
    EXPECT_EQ(s.counters().delivered.load(), records.size());
}

TEST(FileSink, LineIsInTheFileAsSoonAsItIsDelivered) {
    temp_dir dir;
    const auto path = dir / "events.jsonl";
    file_sink s("file", {}, {path, 0, 0});

    s.open();
    ASSERT_EQ(s.consume(make_test_record(), {}), delivery_outcome::delivered);

    // Not closed nor flushed by the caller: the sink flushed it already.
    EXPECT_THAT(read_lines(path), SizeIs(1));
    s.close();
}

TEST(FileSink, AppendsToAnExistingFile) {
    temp_dir dir;
    const auto path = dir / "events.jsonl";
    {
        file_sink first("file", {}, {path, 0, 0});
        first.open();
        first.consume(make_test_record(), {});
        first.close();
    }
    file_sink second("file", {}, {path, 0, 0});

    second.open();
    second.consume(make_test_record(), {});
    second.close();

    EXPECT_THAT(read_lines(path), SizeIs(2));
}

TEST(FileSink, RotatesAtMaxBytes) {
    temp_dir dir;
    const auto path = dir / "events.jsonl";
    const auto line_size = make_test_record().to_json_line().size() + 1;
    const std::uint64_t max_bytes = 2 * line_size;
    file_sink s("file", {}, {path, max_bytes, 5});

    s.open();
    for (int i = 0; i < 5; ++i) s.consume(make_test_record(), {});
    s.close();

    // Two lines a file: .2 and .1 are full, the current file holds the fifth.
    EXPECT_THAT(read_lines(rotation(path, 2)), SizeIs(2));
    EXPECT_THAT(read_lines(rotation(path, 1)), SizeIs(2));
    EXPECT_THAT(read_lines(path), SizeIs(1));
    EXPECT_FALSE(std::filesystem::exists(rotation(path, 3)));
    EXPECT_LE(std::filesystem::file_size(rotation(path, 1)), max_bytes);
}

TEST(FileSink, ReopenWritesToTheNewFileAfterARename) {
    temp_dir dir;
    const auto path = dir / "events.jsonl";
    const auto moved = dir / "events.jsonl.2026-12-03";
    file_sink s("file", {}, {path, 0, 0});
    const record before = make_test_record("delivered", "before@example.com");
    const record after = make_test_record("delivered", "after@example.com");

    s.open();
    s.consume(before, {});
    std::filesystem::rename(path, moved);  // as logrotate does
    s.reopen();
    s.consume(after, {});
    s.close();

    ASSERT_THAT(read_lines(moved), SizeIs(1));
    ASSERT_THAT(read_lines(path), SizeIs(1));
    EXPECT_EQ(nlohmann::json::parse(read_lines(moved)[0]).at("id"), before.event.id);
    EXPECT_EQ(nlohmann::json::parse(read_lines(path)[0]).at("id"), after.event.id);
}

TEST(FileSink, OpenFailsWhenTheFolderCannotBeMade) {
    temp_dir dir;
    std::ofstream(dir / "blocker") << "x";
    file_sink s("file", {}, {dir / "blocker" / "events.jsonl", 0, 0});

    EXPECT_THROW(s.open(), std::exception);
}

TEST(FileSink, FullDiskFailsTheRecordAndKeepsOnlyWholeLines) {
    testing::log_capture log;
    temp_dir dir;
    const auto path = dir / "events.jsonl";
    file_sink s("file", {}, {path, 0, 0});
    std::vector<record> records;
    for (int i = 0; i < 8; ++i) {
        records.push_back(make_test_record("open", "user" + std::to_string(i) + "@example.com"));
    }
    const auto line_size = records[0].to_json_line().size() + 1;
    std::vector<std::string> delivered;
    std::size_t failed = 0;

    // The limit falls in the middle of the fourth line.
    s.open();
    {
        file_size_limit limit(3 * line_size + line_size / 2);
        for (std::size_t i = 0; i < 6; ++i) {
            const auto outcome = s.consume(records[i], {});
            if (outcome == delivery_outcome::delivered) delivered.push_back(records[i].event.id);
            if (outcome == delivery_outcome::failed) ++failed;
        }
    }
    EXPECT_EQ(delivered.size(), 3u);
    EXPECT_EQ(failed, 3u);
    EXPECT_EQ(s.counters().failed.load(), failed);

    // With room again, the next records follow the whole lines.
    for (std::size_t i = 6; i < records.size(); ++i) {
        ASSERT_EQ(s.consume(records[i], {}), delivery_outcome::delivered);
        delivered.push_back(records[i].event.id);
    }
    s.close();

    // Every line is valid JSON, and the file holds exactly the records reported delivered.
    std::vector<std::string> in_file;
    for (const auto& line : read_lines(path)) {
        ASSERT_TRUE(nlohmann::json::accept(line)) << line;
        in_file.push_back(nlohmann::json::parse(line).at("id"));
    }
    EXPECT_EQ(in_file, delivered);
}

TEST(FileSink, WriteFailureIsCountedNotThrown) {
    testing::log_capture log;
    temp_dir dir;
    const auto path = dir / "events.jsonl";
    const auto line_size = make_test_record().to_json_line().size() + 1;
    file_sink s("file", {}, {path, line_size, 1});

    // A non-empty folder where the rotation must go makes the second record fail.
    std::filesystem::create_directories(rotation(path, 1) / "occupied");
    s.open();
    EXPECT_EQ(s.consume(make_test_record(), {}), delivery_outcome::delivered);
    EXPECT_EQ(s.consume(make_test_record(), {}), delivery_outcome::failed);

    EXPECT_EQ(s.counters().failed.load(), 1u);
    EXPECT_THAT(log.text(), ::testing::HasSubstr("[sink:file]"));
    s.close();
}

}  // namespace
}  // namespace seshook
