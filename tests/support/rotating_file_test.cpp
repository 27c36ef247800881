#include "seshook/support/rotating_file.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "support/file_size_limit.hpp"
#include "support/temp_dir.hpp"

namespace seshook {
namespace {

using ::testing::ElementsAre;
using testing::file_size_limit;
using ::testing::HasSubstr;
using testing::read_file;
using testing::read_lines;
using testing::temp_dir;

// Returns `count` distinct lines of `width` characters each.
std::vector<std::string> numbered_lines(int count, std::size_t width) {
    std::vector<std::string> lines;
    for (int i = 0; i < count; ++i) {
        std::string line = "line-" + std::to_string(i) + "-";
        line.resize(width, 'x');
        lines.push_back(line);
    }
    return lines;
}

std::filesystem::path rotation(const std::filesystem::path& path, int n) {
    return std::filesystem::path(path.string() + "." + std::to_string(n));
}

TEST(RotatingFile, AppendsLinesAndCreatesParentFolders) {
    temp_dir dir;
    const auto path = dir / "var" / "deep" / "events.jsonl";
    rotating_file file({path, 0, 0});

    file.open();
    file.append_line("first");
    file.append_line("second");
    file.flush();

    EXPECT_THAT(read_lines(path), ElementsAre("first", "second"));
    EXPECT_EQ(file.size(), std::filesystem::file_size(path));
}

TEST(RotatingFile, AppendsToWhatIsAlreadyThere) {
    temp_dir dir;
    const auto path = dir / "events.jsonl";
    std::ofstream(path) << "old\n";
    rotating_file file({path, 0, 0});

    file.open();
    EXPECT_EQ(file.size(), 4u);
    file.append_line("new");
    file.flush(true);

    EXPECT_THAT(read_lines(path), ElementsAre("old", "new"));
}

TEST(RotatingFile, CutsAnIncompleteLastLineLeftByACrash) {
    temp_dir dir;
    const auto path = dir / "events.jsonl";
    std::ofstream(path) << "{\"id\":\"whole\"}\n{\"id\":\"torn\",\"payload\":{\"event\":\"deliv";
    rotating_file file({path, 0, 0});

    file.open();
    EXPECT_EQ(file.size(), 15u);
    file.append_line("{\"id\":\"next\"}");

    EXPECT_EQ(read_file(path), "{\"id\":\"whole\"}\n{\"id\":\"next\"}\n");
}

TEST(RotatingFile, CutsAFileThatHoldsNoWholeLineToNothing) {
    temp_dir dir;
    const auto path = dir / "events.jsonl";
    std::ofstream(path) << std::string(200'000, 'x');  // longer than one block read backwards
    rotating_file file({path, 0, 0});

    file.open();
    EXPECT_EQ(file.size(), 0u);
    file.append_line("line");
    EXPECT_EQ(read_file(path), "line\n");
}

TEST(RotatingFile, RotatesAtMaxBytes) {
    temp_dir dir;
    const auto path = dir / "events.jsonl";
    const std::size_t width = 30;
    const std::uint64_t max_bytes = 100;
    const auto per_file = static_cast<int>(max_bytes / (width + 1));
    const auto lines = numbered_lines(per_file + 1, width);
    rotating_file file({path, max_bytes, 3});

    file.open();
    for (const auto& line : lines) file.append_line(line);
    file.flush();

    // The full file moved to .1 when the next line would have passed the limit.
    const std::vector<std::string> first(lines.begin(), lines.end() - 1);
    EXPECT_EQ(read_lines(rotation(path, 1)), first);
    EXPECT_THAT(read_lines(path), ElementsAre(lines.back()));
    EXPECT_LE(std::filesystem::file_size(rotation(path, 1)), max_bytes);
}

TEST(RotatingFile, KeepsAtMostMaxFilesRotations) {
    temp_dir dir;
    const auto path = dir / "events.jsonl";
    const std::size_t width = 30;
    const int max_files = 2;
    rotating_file file({path, 100, max_files});
    const auto lines = numbered_lines(30, width);

    file.open();
    for (const auto& line : lines) file.append_line(line);
    file.flush();

    // What is kept is the newest lines, in order, oldest rotation first.
    EXPECT_FALSE(std::filesystem::exists(rotation(path, max_files + 1)));
    std::vector<std::string> kept;
    for (int n = max_files; n >= 1; --n) {
        ASSERT_TRUE(std::filesystem::exists(rotation(path, n)));
        for (auto& line : read_lines(rotation(path, n))) kept.push_back(line);
    }
    for (auto& line : read_lines(path)) kept.push_back(line);
    ASSERT_LT(kept.size(), lines.size());
    const std::vector<std::string> newest(lines.end() - static_cast<long>(kept.size()),
                                          lines.end());
    EXPECT_EQ(kept, newest);
}

TEST(RotatingFile, WritesALineLongerThanMaxBytes) {
    temp_dir dir;
    const auto path = dir / "events.jsonl";
    rotating_file file({path, 10, 1});
    const std::string long_line(50, 'y');

    file.open();
    file.append_line(long_line);
    file.flush();

    EXPECT_THAT(read_lines(path), ElementsAre(long_line));
}

TEST(RotatingFile, WithoutRotationsKeptStartsAfresh) {
    temp_dir dir;
    const auto path = dir / "events.jsonl";
    rotating_file file({path, 10, 0});

    file.open();
    file.append_line("12345678");
    file.append_line("abcdefgh");
    file.flush();

    EXPECT_THAT(read_lines(path), ElementsAre("abcdefgh"));
    EXPECT_FALSE(std::filesystem::exists(rotation(path, 1)));
}

TEST(RotatingFile, ReopenAfterRenameWritesToTheNewFile) {
    temp_dir dir;
    const auto path = dir / "events.jsonl";
    const auto moved = dir / "events.jsonl.moved";
    rotating_file file({path, 0, 0});

    file.open();
    file.append_line("before");
    std::filesystem::rename(path, moved);  // as logrotate does
    file.reopen();
    file.append_line("after");
    file.flush();

    EXPECT_THAT(read_lines(moved), ElementsAre("before"));
    EXPECT_THAT(read_lines(path), ElementsAre("after"));
    EXPECT_EQ(file.size(), std::string("after\n").size());
}

TEST(RotatingFile, FullDiskLeavesOnlyWholeLines) {
    temp_dir dir;
    const auto path = dir / "events.jsonl";
    const auto lines = numbered_lines(20, 90);
    rotating_file file({path, 0, 0});
    std::vector<std::string> written;
    int failures = 0;

    // The limit falls in the middle of a line, so that the write of that line comes up short.
    file.open();
    {
        file_size_limit limit(10 * 91 + 45);
        for (const auto& line : lines) {
            try {
                file.append_line(line);
                written.push_back(line);
            } catch (const std::system_error& e) {
                ++failures;
                EXPECT_THAT(e.what(), HasSubstr(path.string()));
            }

            // Once append_line returned, the line is in the file, not in some buffer.
            EXPECT_EQ(std::filesystem::file_size(path), file.size());
        }
    }
    EXPECT_GT(failures, 0);
    ASSERT_FALSE(written.empty());
    EXPECT_EQ(read_lines(path), written);
    EXPECT_EQ(read_file(path).back(), '\n');

    // With room again, the next lines follow the whole ones.
    file.append_line("after");
    written.push_back("after");
    EXPECT_EQ(read_lines(path), written);
    EXPECT_EQ(file.size(), std::filesystem::file_size(path));
}

TEST(RotatingFile, FailureNamesThePath) {
    temp_dir dir;
    const auto blocker = dir / "not-a-folder";
    std::ofstream(blocker) << "x";
    const auto path = blocker / "events.jsonl";
    rotating_file file({path, 0, 0});

    try {
        file.open();
        FAIL() << "open() should have thrown";
    } catch (const std::system_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("rotating_file: "));
        EXPECT_THAT(e.what(), HasSubstr(blocker.string()));
    }
}

}  // namespace
}  // namespace seshook
