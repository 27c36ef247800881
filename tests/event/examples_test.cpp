#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "seshook/event/schema.hpp"

namespace seshook {
namespace {

namespace fs = std::filesystem;

fs::path examples_dir() {
    const char* from_env = std::getenv("SESHOOK_SOURCE_DIR");
    const fs::path source =
        from_env != nullptr ? fs::path(from_env) : fs::path(SESHOOK_DEFAULT_SOURCE_DIR);
    return source / "examples" / "events";
}

std::map<std::string, std::string> read_examples() {
    std::map<std::string, std::string> examples;
    for (const auto& entry : fs::directory_iterator(examples_dir())) {
        if (entry.path().extension() != ".json") continue;
        std::ifstream file(entry.path(), std::ios::binary);
        std::ostringstream text;
        text << file.rdbuf();
        examples.emplace(entry.path().stem().string(), text.str());
    }
    return examples;
}

TEST(Examples, CoverEveryEventType) {
    const auto examples = read_examples();
    for (const char* name : {"delivered", "dropped", "bounce", "open", "click", "spamreport",
                             "unsubscribe", "deferred"}) {
        EXPECT_EQ(examples.count(name), 1u) << "examples/events/" << name << ".json is missing";
    }
}

TEST(Examples, EachValidatesInStrictMode) {
    const auto examples = read_examples();
    ASSERT_FALSE(examples.empty()) << examples_dir();
    for (const auto& [name, body] : examples) {
        const auto result = parse_callback(body, schema_mode::strict);
        ASSERT_TRUE(result) << name << ": " << result.error().detail;
        ASSERT_EQ(result->size(), 1u) << name;
        const validated_event& event = result->front();
        EXPECT_EQ(event.event, name) << "the file name must be the event name";
        EXPECT_FALSE(event.unknown_event) << name;
        EXPECT_FALSE(event.bulk_id.empty()) << name;
        EXPECT_TRUE(event.timestamp.has_value()) << name;

        // Only documentation domains appear in the examples.
        const auto at = event.email.rfind('@');
        ASSERT_NE(at, std::string::npos) << name;
        const std::string domain = event.email.substr(at + 1);
        EXPECT_TRUE(domain == "example.com" || domain == "example.net") << name;
    }
}

}  // namespace
}  // namespace seshook
