#include "seshook/config/table_reader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

namespace seshook {
namespace {

using ::testing::StartsWith;

// Runs `read` on a reader over `text` and returns the message of the config_error it throws.
template <typename Read>
std::string error_of(std::string_view text, Read read) {
    const toml::table table = toml::parse(text);
    table_reader reader(table, "f.toml", "sinks[2]");
    try {
        read(reader);
    } catch (const config_error& e) {
        return e.what();
    }
    ADD_FAILURE() << "no config_error for:\n" << text;
    return "";
}

TEST(TableReader, ReadsValuesAndFallsBack) {
    const toml::table table = toml::parse(R"(
        s = "text"
        n = 42
        b = false
        d = "5m"
        c = "two"
        l = ["a", "b"]
        m = { Authorization = "Bearer x", "X-Id" = "7" }
        t = { inner = 1 }
    )");
    table_reader reader(table, "f.toml", "");
    EXPECT_EQ(reader.required_string("s"), "text");
    EXPECT_EQ(reader.string_or("absent", "fallback"), "fallback");
    EXPECT_EQ(reader.optional_string("absent2"), std::nullopt);
    EXPECT_EQ(reader.integer_or("n", 0, 0, 100), 42);
    EXPECT_EQ(reader.integer_or("absent3", 9, 0, 100), 9);
    EXPECT_FALSE(reader.boolean_or("b", true));
    EXPECT_EQ(reader.duration_or("d", std::chrono::seconds(1)), std::chrono::minutes(5));
    EXPECT_EQ(reader.choice_or("c", "one", {"one", "two"}), "two");
    EXPECT_EQ(reader.string_list_or("l", {}), (std::vector<std::string>{"a", "b"}));
    const auto map = reader.string_map_or("m", {});
    EXPECT_EQ(map.at("Authorization"), "Bearer x");
    EXPECT_EQ(map.at("X-Id"), "7");
    const toml::table* inner = reader.optional_table("t");
    ASSERT_NE(inner, nullptr);
    EXPECT_TRUE(inner->contains("inner"));
    EXPECT_EQ(reader.optional_table("absent4"), nullptr);
    EXPECT_NO_THROW(reader.finish());
}

TEST(TableReader, FinishRefusesUnreadKeys) {
    EXPECT_EQ(error_of("path = \"a\"\ncolour = \"red\"\n",
                       [](table_reader& r) {
                           r.required_string("path");
                           r.finish();
                       }),
              "f.toml: sinks[2].colour: unknown key");
}

TEST(TableReader, KeyWithDotsIsQuoted) {
    EXPECT_EQ(error_of("\"a.b\" = 1\n", [](table_reader& r) { r.finish(); }),
              "f.toml: sinks[2].\"a.b\": unknown key");
}

TEST(TableReader, WrongTypesNameTheKey) {
    EXPECT_EQ(error_of("max_bytes = \"big\"\n",
                       [](table_reader& r) { r.integer_or("max_bytes", 0, 0, 10); }),
              "f.toml: sinks[2].max_bytes: expected an integer, got a string");
    EXPECT_EQ(error_of("verify = \"yes\"\n", [](table_reader& r) { r.boolean_or("verify", true); }),
              "f.toml: sinks[2].verify: expected a boolean (true or false), got a string");
    EXPECT_EQ(error_of("m = { A = 1 }\n", [](table_reader& r) { r.string_map_or("m", {}); }),
              "f.toml: sinks[2].m.A: expected a string, got an integer");
    EXPECT_EQ(error_of("m = [\"A\"]\n", [](table_reader& r) { r.string_map_or("m", {}); }),
              "f.toml: sinks[2].m: expected a table, got an array");
    EXPECT_EQ(error_of("when = 1979-05-27\n", [](table_reader& r) { r.optional_string("when"); }),
              "f.toml: sinks[2].when: expected a string, got a date");
}

TEST(TableReader, RangeIsSaidInTheMessage) {
    EXPECT_EQ(error_of("n = 11\n", [](table_reader& r) { r.integer_or("n", 0, 1, 10); }),
              "f.toml: sinks[2].n: must be between 1 and 10, got 11");
    EXPECT_EQ(error_of("n = -1\n",
                       [](table_reader& r) {
                           r.integer_or("n", 0, 0, std::numeric_limits<std::int64_t>::max());
                       }),
              "f.toml: sinks[2].n: must be at least 0, got -1");
}

TEST(TableReader, StringsTakeOneOrMany) {
    const toml::table table = toml::parse("one = \"a\"\nmany = [\"a\", \"b\"]\n");
    table_reader reader(table, "f.toml", "");
    EXPECT_EQ(reader.strings_or("one", {}), (std::vector<std::string>{"a"}));
    EXPECT_EQ(reader.strings_or("many", {}), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(reader.strings_or("absent", {"x"}), (std::vector<std::string>{"x"}));
    EXPECT_NO_THROW(reader.finish());
    EXPECT_EQ(error_of("t = 1\n", [](table_reader& r) { r.strings_or("t", {}); }),
              "f.toml: sinks[2].t: expected a string or an array of strings, got an integer");
    EXPECT_EQ(error_of("t = [\"a\", 2]\n", [](table_reader& r) { r.strings_or("t", {}); }),
              "f.toml: sinks[2].t[1]: expected a string, got an integer");
}

TEST(TableReader, RequiredStringMissing) {
    EXPECT_EQ(error_of("", [](table_reader& r) { r.required_string("path"); }),
              "f.toml: sinks[2].path: is required");
}

TEST(TableReader, DurationNeedsAUnitAndMustBePositive) {
    EXPECT_THAT(error_of("t = \"10\"\n",
                         [](table_reader& r) { r.duration_or("t", std::chrono::seconds(1)); }),
                StartsWith("f.toml: sinks[2].t: expected a number with a unit"));
    EXPECT_EQ(error_of("t = \"0ms\"\n",
                       [](table_reader& r) { r.duration_or("t", std::chrono::seconds(1)); }),
              "f.toml: sinks[2].t: must be longer than zero");
}

TEST(TableReader, FullKeyWithoutPrefix) {
    const toml::table table;
    const table_reader reader(table, "f.toml", "");
    EXPECT_EQ(reader.full_key("server"), "server");
    EXPECT_EQ(reader.error("server", "bad").what(), std::string("f.toml: server: bad"));
}

}  // namespace
}  // namespace seshook
