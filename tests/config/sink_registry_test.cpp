#include "seshook/sinks/sink_registry.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

#include "support/temp_dir.hpp"
#include "support/test_certificates.hpp"

namespace seshook {
namespace {

using testing::temp_dir;

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Returns the message of the config_error that parsing `text` and building its sinks throws.
std::string error_of(std::string_view text) {
    try {
        make_sinks(parse_config(text, "test.toml"));
    } catch (const config_error& e) {
        return e.what();
    }
    ADD_FAILURE() << "no config_error for:\n" << text;
    return "";
}

// A forward sink table with the given extra lines.
std::string forward_sink_text(std::string_view extra) {
    return "[[sinks]]\ntype = \"forward\"\nname = \"fw\"\nurl = \"http://127.0.0.1:9/in\"\n" +
           std::string(extra);
}

// Returns the text of config/seshook.toml; "" when SESHOOK_SOURCE_DIR is not set.
std::string shipped_config_text() {
    const char* source_dir = std::getenv("SESHOOK_SOURCE_DIR");
    if (source_dir == nullptr) return "";
    return testing::read_file(std::filesystem::path(source_dir) / "config" / "seshook.toml");
}

TEST(SinkRegistry, KnowsTheBuiltInTypes) {
    EXPECT_EQ(sink_type_names(), (std::vector<std::string>{"file", "forward", "log"}));
    for (const auto& name : sink_type_names()) EXPECT_NE(find_sink_factory(name), nullptr);
    EXPECT_EQ(find_sink_factory("kafka"), nullptr);
}

TEST(SinkRegistry, BuildsEachConfiguredSinkWithoutOpeningIt) {
    const temp_dir dir;
    const auto events = dir.path() / "events.jsonl";
    const auto dead = dir.path() / "dead.jsonl";
    const config cfg = parse_config(R"(
        [[sinks]]
        type = "log"
        name = "console"
        events = ["bounce"]

        [[sinks]]
        type = "file"
        name = "archive"
        path = ")" + events.string() + R"("
        max_bytes = 0
        max_files = 3

        [[sinks]]
        type = "forward"
        name = "crm"
        url = "https://crm.example.com/hooks/ses"
        headers = { Authorization = "Bearer x", "X-Tenant" = "7" }
        timeout = "2s"
        max_attempts = 3
        backoff_initial = "100ms"
        backoff_max = "1s"
        dead_letter_path = ")" + dead.string() +
                                        R"("
        verify_tls = false
    )",
                                    "test.toml");
    const auto sinks = make_sinks(cfg);
    ASSERT_EQ(sinks.size(), 3u);
    EXPECT_EQ(sinks[0]->type(), "log");
    EXPECT_EQ(sinks[0]->name(), "console");
    EXPECT_EQ(sinks[1]->type(), "file");
    EXPECT_EQ(sinks[1]->name(), "archive");
    EXPECT_EQ(sinks[2]->type(), "forward");
    EXPECT_EQ(sinks[2]->name(), "crm");

    // --check-config builds sinks too, so building must not touch the disk.
    EXPECT_FALSE(std::filesystem::exists(events));
    EXPECT_FALSE(std::filesystem::exists(dead));

    // The configured path is the one the file sink opens.
    sinks[1]->open();
    EXPECT_TRUE(std::filesystem::exists(events));
    sinks[1]->close();
}

TEST(SinkRegistry, UnknownTypeListsTheKnownOnes) {
    EXPECT_EQ(error_of("[[sinks]]\ntype = \"kafka\"\nname = \"k\"\n"),
              "test.toml: sinks[0].type: unknown sink type \"kafka\"; known types are file, "
              "forward, log");
}

TEST(SinkRegistry, UnknownKeyOfASinkIsNamed) {
    EXPECT_EQ(
        error_of("[[sinks]]\ntype = \"log\"\nname = \"a\"\n"
                 "[[sinks]]\ntype = \"file\"\nname = \"b\"\npath = \"x\"\ncolour = \"red\"\n"),
        "test.toml: sinks[1].colour: unknown key");

    // The first one in the file is named, not the first in alphabetical order.
    EXPECT_EQ(error_of("[[sinks]]\ntype = \"log\"\nname = \"a\"\nzz_late = 1\naa_early = 2\n"),
              "test.toml: sinks[0].zz_late: unknown key");

    // A key of another sink type is unknown too.
    EXPECT_EQ(error_of("[[sinks]]\ntype = \"log\"\nname = \"a\"\npath = \"x\"\n"),
              "test.toml: sinks[0].path: unknown key");
}

TEST(SinkRegistry, FileSinkNeedsAPath) {
    EXPECT_EQ(error_of("[[sinks]]\ntype = \"file\"\nname = \"f\"\n"),
              "test.toml: sinks[0].path: is required");
    EXPECT_EQ(error_of("[[sinks]]\ntype = \"file\"\nname = \"f\"\npath = \"\"\n"),
              "test.toml: sinks[0].path: must not be empty");
}

TEST(SinkRegistry, BadFileSinkNumbers) {
    EXPECT_EQ(
        error_of("[[sinks]]\ntype = \"file\"\nname = \"f\"\npath = \"x\"\nmax_bytes = \"1M\"\n"),
        "test.toml: sinks[0].max_bytes: expected an integer, got a string");
    EXPECT_EQ(error_of("[[sinks]]\ntype = \"file\"\nname = \"f\"\npath = \"x\"\nmax_bytes = -1\n"),
              "test.toml: sinks[0].max_bytes: must be at least 0, got -1");
    EXPECT_THAT(error_of("[[sinks]]\ntype = \"file\"\nname = \"f\"\npath = \"x\"\nmax_files = 0\n"),
                StartsWith("test.toml: sinks[0].max_files: must be between 1 and "));
}

TEST(SinkRegistry, ForwardSinkNeedsAnHttpUrl) {
    EXPECT_EQ(error_of("[[sinks]]\ntype = \"forward\"\nname = \"fw\"\n"),
              "test.toml: sinks[0].url: is required");
    for (const char* url : {"ftp://example.com/x", "example.com/hook", "not a url", ""}) {
        const std::string message = error_of(
            "[[sinks]]\ntype = \"forward\"\nname = \"fw\"\nurl = \"" + std::string(url) + "\"\n");
        EXPECT_THAT(message, StartsWith("test.toml: sinks[0].url: expected an absolute http"))
            << url;
    }
}

TEST(SinkRegistry, ForwardUrlIsNeverRepeated) {
    // URLs often carry a token; the message may end up in a log.
    const std::string message = error_of(
        "[[sinks]]\ntype = \"forward\"\nname = \"fw\"\nurl = \"htps://x.example/t0k3n\"\n");
    EXPECT_THAT(message, AllOf(StartsWith("test.toml: sinks[0].url: "), Not(HasSubstr("t0k3n"))));
}

TEST(SinkRegistry, BadForwardSettings) {
    EXPECT_EQ(error_of(forward_sink_text("max_attempts = 0\n")),
              "test.toml: sinks[0].max_attempts: must be between 1 and 100, got 0");
    EXPECT_EQ(error_of(forward_sink_text("max_attempts = 101\n")),
              "test.toml: sinks[0].max_attempts: must be between 1 and 100, got 101");
    EXPECT_THAT(error_of(forward_sink_text("timeout = \"5\"\n")),
                StartsWith("test.toml: sinks[0].timeout: expected a number with a unit"));
    EXPECT_EQ(error_of(forward_sink_text("backoff_initial = \"10s\"\nbackoff_max = \"1s\"\n")),
              "test.toml: sinks[0].backoff_max: must not be shorter than backoff_initial");
    EXPECT_EQ(error_of(forward_sink_text("verify_tls = \"no\"\n")),
              "test.toml: sinks[0].verify_tls: expected a boolean (true or false), got a string");
    EXPECT_EQ(error_of(forward_sink_text("dead_letter_path = \"\"\n")),
              "test.toml: sinks[0].dead_letter_path: must not be empty");
}

TEST(SinkRegistry, BadForwardHeaders) {
    EXPECT_EQ(error_of(forward_sink_text("headers = { X-Retries = 3 }\n")),
              "test.toml: sinks[0].headers.X-Retries: expected a string, got an integer");
    EXPECT_EQ(error_of(forward_sink_text("headers = \"Authorization: x\"\n")),
              "test.toml: sinks[0].headers: expected a table, got a string");
    EXPECT_EQ(error_of(forward_sink_text("headers = { \"Bad Name\" = \"x\" }\n")),
              "test.toml: sinks[0].headers: \"Bad Name\" is not a valid header name");
    EXPECT_EQ(error_of(forward_sink_text("headers = { X-A = \"a\\r\\nX-Injected: 1\" }\n")),
              "test.toml: sinks[0].headers.X-A: must not contain control characters such as "
              "line breaks");
    EXPECT_EQ(error_of(forward_sink_text("headers = { x-seshook-id = \"1\" }\n")),
              "test.toml: sinks[0].headers.x-seshook-id: is set by seshook and cannot be "
              "configured");
    EXPECT_EQ(error_of(forward_sink_text("headers = { Content-Length = \"1\" }\n")),
              "test.toml: sinks[0].headers.Content-Length: is set by seshook and cannot be "
              "configured");
    EXPECT_EQ(error_of(forward_sink_text("headers = { Webhook-Signature = \"v1,x\" }\n")),
              "test.toml: sinks[0].headers.Webhook-Signature: is set by seshook and cannot be "
              "configured");
}

TEST(SinkRegistry, ForwardSigningSecretIsCheckedWithoutBeingShown) {
    // 24 bytes, the least the specification allows.
    const std::string good = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    EXPECT_NO_THROW(make_sinks(
        parse_config(forward_sink_text("signing_secret = \"" + good + "\"\n"), "test.toml")));

    // The messages name the key and what is wrong, never the secret.
    const std::string short_key = "whsec_c2VjcmV0LXRvby1zaG9ydA==";
    const std::string no_prefix = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const std::string url_safe = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa_-";
    EXPECT_EQ(error_of(forward_sink_text("signing_secret = \"" + short_key + "\"\n")),
              "test.toml: sinks[0].signing_secret: must decode to a key of at least 24 bytes");
    EXPECT_EQ(error_of(forward_sink_text("signing_secret = \"" + no_prefix + "\"\n")),
              "test.toml: sinks[0].signing_secret: must start with \"whsec_\" followed by the "
              "base64 of the key");
    EXPECT_EQ(error_of(forward_sink_text("signing_secret = \"" + url_safe + "\"\n")),
              "test.toml: sinks[0].signing_secret: must be \"whsec_\" followed by standard "
              "base64 (A-Z, a-z, 0-9, '+', '/')");
    EXPECT_EQ(error_of(forward_sink_text("signing_secret = \"\"\n")),
              "test.toml: sinks[0].signing_secret: must start with \"whsec_\" followed by the "
              "base64 of the key");
    EXPECT_EQ(error_of(forward_sink_text("signing_secret = 42\n")),
              "test.toml: sinks[0].signing_secret: expected a string, got an integer");
}

TEST(SinkRegistry, ForwardSigningSecretFileIsReadAndChecked) {
    const temp_dir dir;
    const auto good = dir / "good.whsec";
    const auto bad = dir / "bad.whsec";
    std::ofstream(good) << "  whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n";
    std::ofstream(bad) << "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n";
    const auto file_key = [](const std::filesystem::path& path) {
        return "signing_secret_file = \"" + path.string() + "\"\n";
    };

    // Surrounding spaces and the final line break are not part of the secret.
    EXPECT_NO_THROW(make_sinks(parse_config(forward_sink_text(file_key(good)), "test.toml")));

    EXPECT_EQ(error_of(forward_sink_text(file_key(bad))),
              "test.toml: sinks[0].signing_secret_file: the secret in " + bad.string() +
                  " must start with \"whsec_\" followed by the base64 of the key");
    EXPECT_EQ(error_of(forward_sink_text(file_key(dir / "missing.whsec"))),
              "test.toml: sinks[0].signing_secret_file: cannot read " +
                  (dir / "missing.whsec").string() + ": No such file or directory");
    EXPECT_EQ(error_of(forward_sink_text(file_key(dir.path()))),
              "test.toml: sinks[0].signing_secret_file: cannot read " + dir.path().string() +
                  ": it is a folder");
    EXPECT_EQ(
        error_of(forward_sink_text(
            file_key(good) + "signing_secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n")),
        "test.toml: sinks[0].signing_secret_file: cannot be set together with "
        "signing_secret");
}

TEST(SinkRegistry, ForwardCaFileMustHoldCertificatesAndBeUsed) {
    const temp_dir dir;
    const auto authority = testing::tls_authority::create();
    const auto bundle = dir / "ca.pem";
    const auto key_only = dir / "key.pem";
    std::ofstream(bundle) << authority.certificate_pem;
    std::ofstream(key_only) << authority.private_key_pem;
    const auto https_sink = [](const std::string& extra) {
        return "[[sinks]]\ntype = \"forward\"\nname = \"fw\"\n"
               "url = \"https://127.0.0.1:9/in\"\n" +
               extra;
    };
    const auto ca_key = [](const std::filesystem::path& path) {
        return "ca_file = \"" + path.string() + "\"\n";
    };

    EXPECT_NO_THROW(make_sinks(parse_config(https_sink(ca_key(bundle)), "test.toml")));

    EXPECT_EQ(error_of(https_sink(ca_key(dir / "missing.pem"))),
              "test.toml: sinks[0].ca_file: cannot read " + (dir / "missing.pem").string() +
                  ": No such file or directory");
    EXPECT_EQ(error_of(https_sink(ca_key(key_only))),
              "test.toml: sinks[0].ca_file: " + key_only.string() + " holds no PEM certificate");
    EXPECT_EQ(error_of(https_sink(ca_key(bundle) + "verify_tls = false\n")),
              "test.toml: sinks[0].ca_file: has no effect with verify_tls = false");
    EXPECT_EQ(error_of(forward_sink_text(ca_key(bundle))),
              "test.toml: sinks[0].ca_file: has no effect on an http:// url");
}

TEST(SinkRegistry, ShippedConfigBuildsItsSinks) {
    const std::string text = shipped_config_text();
    ASSERT_FALSE(text.empty()) << "config/seshook.toml not found through SESHOOK_SOURCE_DIR";
    const auto sinks = make_sinks(parse_config(text, "config/seshook.toml"));
    ASSERT_EQ(sinks.size(), 2u);
    EXPECT_EQ(sinks[0]->type(), "log");
    EXPECT_EQ(sinks[1]->type(), "file");
}

TEST(SinkRegistry, ShippedForwardExampleWorksOnceUncommented) {
    // Do what the file tells the reader: remove "# " before the lines of the example block.
    const std::string text = shipped_config_text();
    const auto start = text.find("\n# [[sinks]]\n");
    ASSERT_NE(start, std::string::npos) << "no commented-out [[sinks]] example";
    std::istringstream example(text.substr(start + 1));
    std::string uncommented = text.substr(0, start + 1);
    for (std::string line; std::getline(example, line);) {
        ASSERT_TRUE(line.starts_with("# ")) << line;
        uncommented += line.substr(2) + "\n";
    }

    const auto sinks = make_sinks(parse_config(uncommented, "config/seshook.toml"));
    ASSERT_EQ(sinks.size(), 3u);
    EXPECT_EQ(sinks[2]->type(), "forward");
}

}  // namespace
}  // namespace seshook
