#include "seshook/daemon/replay.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "seshook/config/config.hpp"
#include "seshook/event/record.hpp"
#include "seshook/event/schema.hpp"
#include "support/base64.hpp"
#include "support/gzip.hpp"
#include "support/temp_dir.hpp"

namespace seshook::testing {
namespace {

// A payload whose bytes a re-serialisation would change: key order, a number's spelling, an
// escape and an unknown key.
const std::string bounce_payload =
    R"({"event":"bounce","email":"a@example.com","bulkId":"qcloudses-1","timestamp":1717251879,)"
    R"("reason":"550 caf\u00e9","bounceType":"hard_bounce","extra":1.50})";
const std::string delivered_payload =
    R"({"event":"delivered","email":"b@example.com","bulkId":"qcloudses-1","timestamp":1717251880})";

std::string records_line(const std::string& payload, const std::string& peer = "203.0.113.7") {
    return rebuild_record(payload, "2026-12-03T19:10:12.345Z", peer)->to_json_line();
}

std::string rejects_line(const nlohmann::ordered_json& fields) {
    nlohmann::ordered_json line{{"time", "2026-12-03T19:10:12.345Z"},
                                {"peer", "198.51.100.4"},
                                {"reason", "unknown_event"},
                                {"detail", "the event was refused"}};
    for (const auto& [key, value] : fields.items()) line[key] = value;
    return line.dump();
}

std::string dead_letter_line(const std::string& payload) {
    return R"({"time":"2026-12-03T19:10:13.000Z","sink":"crm","id":"x","event":"bounce",)"
           R"("attempts":5,"error":"HTTP 503","record":)" +
           records_line(payload) + "}";
}

class Replay : public ::testing::Test {
protected:
    // A config with a file sink "all", a file sink "bounces" that takes only bounces, and a
    // forward sink "crm" whose receiver does not listen.
    config make_config(const std::string& schema_mode = "lenient") {
        return parse_config(R"([schema]
mode = ")" + schema_mode + R"("

[[sinks]]
type = "file"
name = "all"
path = ")" + (dir_ / "all.jsonl").string() +
                                R"("

[[sinks]]
type = "file"
name = "bounces"
path = ")" + (dir_ / "bounces.jsonl").string() +
                                R"("
events = ["bounce"]

[[sinks]]
type = "forward"
name = "crm"
url = "http://127.0.0.1:9/hook"
max_attempts = 1
timeout = "1s"
dead_letter_path = ")" + (dir_ / "dead.jsonl").string() +
                                R"("
)",
                            "test.toml");
    }

    std::filesystem::path write_input(const std::vector<std::string>& lines) {
        const auto path = dir_ / "input.jsonl";
        std::ofstream out(path, std::ios::binary);
        for (const auto& line : lines) out << line << '\n';
        return path;
    }

    replay_summary replay(const std::string& sink, const std::vector<std::string>& lines,
                          const config& cfg) {
        out_.str("");
        err_.str("");
        return replay_events(cfg, sink, write_input(lines), out_, err_);
    }

    replay_summary replay(const std::string& sink, const std::vector<std::string>& lines) {
        return replay(sink, lines, make_config());
    }

    std::vector<nlohmann::json> written(const std::string& file) {
        std::vector<nlohmann::json> records;
        for (const auto& line : read_lines(dir_ / file))
            records.push_back(nlohmann::json::parse(line));
        return records;
    }

    temp_dir dir_;
    std::ostringstream out_;
    std::ostringstream err_;
};

TEST_F(Replay, ARecordsLineKeepsItsIdTimePeerAndPayloadBytes) {
    const std::string line = records_line(bounce_payload);
    const auto summary = replay("all", {line});
    EXPECT_EQ(summary.lines_read, 1u);
    EXPECT_EQ(summary.replayed, 1u);
    EXPECT_EQ(summary.exit_code(), 0) << err_.str();
    EXPECT_EQ(err_.str(), "");

    // The file sink writes the very same line.
    EXPECT_EQ(read_lines(dir_ / "all.jsonl"), std::vector<std::string>{line});
}

TEST_F(Replay, PrintsTheCountsAtTheEnd) {
    replay("all", {records_line(bounce_payload), "nonsense"});
    EXPECT_EQ(out_.str(),
              "seshook replay: read 2, replayed 1, dead-lettered 0, failed 0, skipped by filter "
              "0, invalid 1\n");
}

TEST_F(Replay, ARejectedBodyThatIsNowValidBecomesRecordsReceivedNow) {
    // Refused under strict mode for its digit-string timestamp; lenient mode takes it.
    const std::string body =
        R"([{"event":"delivered","email":"c@example.com","bulkId":"b","timestamp":"1717251881"},)"
        R"({"event":"open","email":"d@example.com","bulkId":"b","timestamp":1717251882}])";
    const auto summary = replay("all", {rejects_line({{"body", body}})});
    EXPECT_EQ(summary.lines_read, 1u);
    EXPECT_EQ(summary.replayed, 2u);
    EXPECT_EQ(summary.exit_code(), 0) << err_.str();

    const auto records = written("all.jsonl");
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0]["peer"], "198.51.100.4");
    EXPECT_EQ(records[0]["payload"]["email"], "c@example.com");
    EXPECT_EQ(records[1]["payload"]["event"], "open");
    EXPECT_NE(records[0]["receivedAt"], "2026-12-03T19:10:12.345Z");
}

TEST_F(Replay, ARejectedBodyIsValidatedWithTheConfiguredMode) {
    const std::string body =
        R"({"event":"delivered","email":"c@example.com","bulkId":"b","timestamp":"1717251881"})";
    const auto summary = replay("all", {rejects_line({{"body", body}})}, make_config("strict"));
    EXPECT_EQ(summary.replayed, 0u);
    EXPECT_EQ(summary.invalid_lines, 1u);
    EXPECT_EQ(summary.exit_code(), 1);
    EXPECT_NE(err_.str().find("input.jsonl:1: body still refused"), std::string::npos)
        << err_.str();
    EXPECT_NE(err_.str().find("wrong_type"), std::string::npos) << err_.str();
}

TEST_F(Replay, ABodyStillInvalidIsCountedWithItsReasonAndTheRestGoesOn) {
    const auto summary = replay("all", {rejects_line({{"body", R"({"event":"delivered"})"}}),
                                        records_line(delivered_payload)});
    EXPECT_EQ(summary.lines_read, 2u);
    EXPECT_EQ(summary.invalid_lines, 1u);
    EXPECT_EQ(summary.replayed, 1u);
    EXPECT_EQ(summary.exit_code(), 1);
    EXPECT_NE(err_.str().find("input.jsonl:1: "), std::string::npos) << err_.str();
    EXPECT_NE(err_.str().find("missing_field"), std::string::npos) << err_.str();
    EXPECT_NE(err_.str().find("first refused as unknown_event"), std::string::npos) << err_.str();
}

TEST_F(Replay, ABase64BodyIsDecoded) {
    // "{"event":"open",…}" in base64, as the rejects file keeps a body that is not UTF-8 text.
    const std::string body =
        R"({"event":"open","email":"e@example.com","bulkId":"b","timestamp":1717251883})";
    std::string encoded;
    {
        static const char* alphabet =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        std::size_t i = 0;
        for (; i + 2 < body.size(); i += 3) {
            const unsigned n = (static_cast<unsigned char>(body[i]) << 16) |
                               (static_cast<unsigned char>(body[i + 1]) << 8) |
                               static_cast<unsigned char>(body[i + 2]);
            for (int shift = 18; shift >= 0; shift -= 6) encoded += alphabet[(n >> shift) & 63];
        }
        if (i < body.size()) {
            unsigned n = static_cast<unsigned char>(body[i]) << 16;
            if (i + 1 < body.size()) n |= static_cast<unsigned char>(body[i + 1]) << 8;
            encoded += alphabet[(n >> 18) & 63];
            encoded += alphabet[(n >> 12) & 63];
            encoded += i + 1 < body.size() ? alphabet[(n >> 6) & 63] : '=';
            encoded += '=';
        }
    }
    ASSERT_NE(body.size() % 3, 0u) << "the test wants padding";

    const auto summary = replay("all", {rejects_line({{"bodyBase64", encoded}})});
    EXPECT_EQ(summary.replayed, 1u) << err_.str();
    const auto records = written("all.jsonl");
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0]["payload"].dump(), nlohmann::json::parse(body).dump());
}

TEST_F(Replay, AGzipBodyKeptAsItCameIsInflated) {
    // As the rejects file keeps gzip that inflated past the body limit of its day.
    const std::string body = "[" + delivered_payload + "," + bounce_payload + "]";
    const auto line = [&](std::string_view coding, std::string_view bytes) {
        return rejects_line({{"reason", "body_too_large"},
                             {"contentEncoding", coding},
                             {"bodyBase64", encode_base64(bytes)}});
    };

    const auto summary = replay("all", {line("gzip", gzip(body))});
    EXPECT_EQ(summary.replayed, 2u) << err_.str();
    const auto records = written("all.jsonl");
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[1]["payload"], nlohmann::json::parse(bounce_payload));

    // Still too large for this config's limit, still broken, or a coding seshook does not take:
    // each says so, and the next line goes on.
    auto small = make_config();
    small.server.max_body_bytes = 64;
    const auto refused = replay(
        "all", {line("gzip", gzip(body)), line("gzip", "not gzip"), line("br", body)}, small);
    EXPECT_EQ(refused.invalid_lines, 3u);
    EXPECT_NE(err_.str().find("body still refused (first refused as body_too_large): "
                              "body_too_large: gzip body inflates to more than 64 bytes"),
              std::string::npos)
        << err_.str();
    EXPECT_NE(err_.str().find(": invalid_gzip: "), std::string::npos) << err_.str();
    EXPECT_NE(err_.str().find(": unsupported_encoding: "), std::string::npos) << err_.str();
}

TEST_F(Replay, BadBase64IsAnInvalidLine) {
    const auto summary = replay("all", {rejects_line({{"bodyBase64", "not*base64"}})});
    EXPECT_EQ(summary.invalid_lines, 1u);
    EXPECT_NE(err_.str().find("bodyBase64 is not valid base64"), std::string::npos) << err_.str();
}

TEST_F(Replay, ADeadLetterLineGivesBackItsRecord) {
    const auto summary = replay("all", {dead_letter_line(bounce_payload)});
    EXPECT_EQ(summary.replayed, 1u);
    EXPECT_EQ(summary.exit_code(), 0) << err_.str();
    EXPECT_EQ(read_lines(dir_ / "all.jsonl"),
              std::vector<std::string>{records_line(bounce_payload)});
}

TEST_F(Replay, TheSinksFilterSkipsAndCounts) {
    const auto summary =
        replay("bounces", {records_line(delivered_payload), records_line(bounce_payload)});
    EXPECT_EQ(summary.lines_read, 2u);
    EXPECT_EQ(summary.replayed, 1u);
    EXPECT_EQ(summary.skipped, 1u);
    EXPECT_EQ(summary.exit_code(), 0);
    const auto records = written("bounces.jsonl");
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0]["payload"]["event"], "bounce");
}

TEST_F(Replay, EachKindOfInvalidLineIsReportedWithItsNumber) {
    const auto summary =
        replay("all", {"{not json", "[1,2]", R"({"id":"x"})",
                       R"({"payload":{"event":"open"},"receivedAt":"t","peer":"p"})",
                       R"({"payload":{},"peer":"p"})", "", "   "});
    EXPECT_EQ(summary.lines_read, 5u);  // blank lines are not counted
    EXPECT_EQ(summary.invalid_lines, 5u);
    const std::string err = err_.str();
    EXPECT_NE(err.find("input.jsonl:1: not valid JSON"), std::string::npos) << err;
    EXPECT_NE(err.find("input.jsonl:2: not a JSON object"), std::string::npos) << err;
    EXPECT_NE(err.find("input.jsonl:3: neither a record"), std::string::npos) << err;
    EXPECT_NE(err.find("input.jsonl:4: records line with an invalid payload"), std::string::npos)
        << err;
    EXPECT_NE(err.find("input.jsonl:5: records line without a string \"receivedAt\""),
              std::string::npos)
        << err;
}

TEST_F(Replay, ADeadLetteredRecordIsCountedAndFailsTheRun) {
    const auto summary = replay("crm", {records_line(bounce_payload)});
    EXPECT_EQ(summary.dead_lettered, 1u);
    EXPECT_EQ(summary.replayed, 0u);
    EXPECT_EQ(summary.exit_code(), 1);
    EXPECT_NE(err_.str().find("dead-lettered by sink 'crm'"), std::string::npos) << err_.str();
    EXPECT_EQ(read_lines(dir_ / "dead.jsonl").size(), 1u);
}

TEST_F(Replay, ASinksOwnOutputAsInputIsReplayedOnceNotWithoutEnd) {
    // The file sink "all" appends to the very file being replayed.
    const auto records = dir_ / "all.jsonl";
    {
        std::ofstream out(records, std::ios::binary);
        out << records_line(bounce_payload) << '\n' << records_line(bounce_payload) << '\n';
    }
    const auto summary = replay_events(make_config(), "all", records, out_, err_);
    EXPECT_EQ(summary.lines_read, 2u);
    EXPECT_EQ(summary.replayed, 2u);
    EXPECT_EQ(read_lines(records).size(), 4u);

    // The same with the forward sink's dead-letter file, which it appends to while replaying.
    {
        std::ofstream out(dir_ / "dead.jsonl", std::ios::binary);
        out << dead_letter_line(bounce_payload) << '\n';
    }
    const auto again = replay_events(make_config(), "crm", dir_ / "dead.jsonl", out_, err_);
    EXPECT_EQ(again.lines_read, 1u);
    EXPECT_EQ(again.dead_lettered, 1u);
    EXPECT_EQ(read_lines(dir_ / "dead.jsonl").size(), 2u);
}

TEST_F(Replay, AnUnknownSinkIsNamedWithTheConfiguredOnes) {
    try {
        replay("nope", {records_line(bounce_payload)});
        FAIL() << "replay_error expected";
    } catch (const replay_error& e) {
        EXPECT_STREQ(e.what(),
                     "replay: no sink named \"nope\" in test.toml; the configured sinks are: all, "
                     "bounces, crm");
    }
    EXPECT_FALSE(std::filesystem::exists(dir_ / "all.jsonl"));
}

TEST_F(Replay, AMissingInputIsAReplayError) {
    std::ostringstream out, err;
    EXPECT_THROW(replay_events(make_config(), "all", dir_ / "missing.jsonl", out, err),
                 replay_error);
}

}  // namespace
}  // namespace seshook::testing
