#include "seshook/config/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <system_error>

#include "support/temp_dir.hpp"

namespace seshook {
namespace {

using testing::temp_dir;

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr const char* source_name = "test.toml";

// Writes `text` to the file `name` in `dir` and returns its path.
std::filesystem::path write_file(const temp_dir& dir, const std::string& name,
                                 std::string_view text) {
    const auto path = dir / name;
    std::ofstream(path) << text;
    return path;
}

config parse(std::string_view text) { return parse_config(text, source_name); }

// Returns the message of the config_error that parsing `text` throws, or "" (a failure).
std::string error_of(std::string_view text) {
    try {
        parse(text);
    } catch (const config_error& e) {
        return e.what();
    }
    ADD_FAILURE() << "no config_error for:\n" << text;
    return "";
}

// Sets (or unsets, with nothing) an environment variable for the scope of a test.
class env_guard {
public:
    env_guard(const char* name, std::optional<std::string> value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value) {
            setenv(name, value->c_str(), 1);
        } else {
            unsetenv(name);
        }
    }
    ~env_guard() {
        if (old_) {
            setenv(name_, old_->c_str(), 1);
        } else {
            unsetenv(name_);
        }
    }

private:
    const char* name_;
    std::optional<std::string> old_;
};

TEST(Config, EmptyTextGivesDefaults) {
    const config cfg = parse("");
    const server_config server;
    EXPECT_EQ(cfg.source, source_name);
    EXPECT_EQ(cfg.server.listen_host, server.listen_host);
    EXPECT_EQ(cfg.server.listen_port, server.listen_port);
    EXPECT_EQ(cfg.server.callback_path, server.callback_path);
    EXPECT_EQ(cfg.server.io_threads, server.io_threads);
    EXPECT_EQ(cfg.server.max_connections, server.max_connections);
    EXPECT_EQ(cfg.server.max_connections_per_client, 256u);
    EXPECT_EQ(cfg.server.max_body_bytes, server.max_body_bytes);
    EXPECT_EQ(cfg.server.max_header_bytes, server.max_header_bytes);
    EXPECT_EQ(cfg.server.max_header_fields, 100u);
    EXPECT_EQ(cfg.server.header_timeout, std::chrono::seconds(5));
    EXPECT_EQ(cfg.server.request_timeout, server.request_timeout);
    EXPECT_EQ(cfg.server.idle_timeout, server.idle_timeout);
    EXPECT_EQ(cfg.server.shutdown_grace, server.shutdown_grace);
    EXPECT_EQ(cfg.log_level, config{}.log_level);
    EXPECT_EQ(cfg.schema.mode, schema_config{}.mode);
    EXPECT_EQ(cfg.schema.limits.max_depth, schema_limits{}.max_depth);
    EXPECT_EQ(cfg.schema.limits.max_batch, schema_limits{}.max_batch);
    EXPECT_EQ(cfg.rejects_path, config{}.rejects_path);
    EXPECT_TRUE(cfg.sinks.empty());
}

TEST(Config, ReadsEveryKey) {
    const config cfg = parse(R"(
        [server]
        listen = "0.0.0.0:8081"
        callback_path = "/ses/s3cr3t"
        io_threads = 3
        max_connections = 50
        max_connections_per_client = 0
        max_body_bytes = 4096
        max_header_bytes = 2048
        max_header_fields = 30
        header_timeout = "1500ms"
        request_timeout = "2s"
        idle_timeout = "1m"
        shutdown_grace = "250ms"

        [log]
        level = "debug"

        [schema]
        mode = "strict"
        max_depth = 8
        max_batch = 20

        [rejects]
        path = "/tmp/rejects.jsonl"

        [[sinks]]
        type = "log"
        name = "console"

        [[sinks]]
        type = "file"
        name = "bounces"
        events = ["bounce", "dropped"]
        queue_capacity = 7
        path = "var/bounces.jsonl"
    )");
    EXPECT_EQ(cfg.server.listen_host, "0.0.0.0");
    EXPECT_EQ(cfg.server.listen_port, 8081);
    EXPECT_EQ(cfg.server.callback_path, "/ses/s3cr3t");
    EXPECT_EQ(cfg.server.io_threads, 3u);
    EXPECT_EQ(cfg.server.max_connections, 50u);
    EXPECT_EQ(cfg.server.max_connections_per_client, 0u);
    EXPECT_EQ(cfg.server.max_body_bytes, 4096u);
    EXPECT_EQ(cfg.server.max_header_bytes, 2048u);
    EXPECT_EQ(cfg.server.max_header_fields, 30u);
    EXPECT_EQ(cfg.server.header_timeout, std::chrono::milliseconds(1500));
    EXPECT_EQ(cfg.server.request_timeout, std::chrono::seconds(2));
    EXPECT_EQ(cfg.server.idle_timeout, std::chrono::minutes(1));
    EXPECT_EQ(cfg.server.shutdown_grace, std::chrono::milliseconds(250));
    EXPECT_EQ(cfg.log_level, "debug");
    EXPECT_EQ(cfg.schema.mode, schema_mode::strict);
    EXPECT_EQ(cfg.schema.limits.max_depth, 8u);
    EXPECT_EQ(cfg.schema.limits.max_batch, 20u);
    EXPECT_EQ(cfg.rejects_path, "/tmp/rejects.jsonl");

    ASSERT_EQ(cfg.sinks.size(), 2u);
    EXPECT_EQ(cfg.sinks[0].type, "log");
    EXPECT_EQ(cfg.sinks[0].name, "console");
    EXPECT_TRUE(cfg.sinks[0].events.empty());
    EXPECT_EQ(cfg.sinks[0].queue_capacity, sink_config{}.queue_capacity);
    EXPECT_EQ(cfg.sinks[0].index, 0u);
    EXPECT_EQ(cfg.sinks[1].type, "file");
    EXPECT_EQ(cfg.sinks[1].name, "bounces");
    EXPECT_EQ(cfg.sinks[1].events, (std::vector<std::string>{"bounce", "dropped"}));
    EXPECT_EQ(cfg.sinks[1].queue_capacity, 7u);
    EXPECT_EQ(cfg.sinks[1].index, 1u);

    // The sink's own keys stay in its options for the sink's factory.
    ASSERT_NE(cfg.sinks[1].options, nullptr);
    EXPECT_EQ(cfg.sinks[1].options->at_path("path").value_or(std::string()), "var/bounces.jsonl");
}

TEST(Config, ReadsIpv6ListenAddressAndPortZero) {
    const config cfg = parse("[server]\nlisten = \"[::1]:0\"\n");
    EXPECT_EQ(cfg.server.listen_host, "::1");
    EXPECT_EQ(cfg.server.listen_port, 0);
}

TEST(Config, EmptySinkListIsAllowed) { EXPECT_TRUE(parse("sinks = []\n").sinks.empty()); }

TEST(Config, ReadsEveryLogLevel) {
    for (const std::string level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
        EXPECT_EQ(parse("[log]\nlevel = \"" + level + "\"\n").log_level, level);
    }
}

TEST(Config, ReadsLogFormatAndAccessLog) {
    EXPECT_EQ(parse("").log_output_format, log_format::text);
    EXPECT_FALSE(parse("").access_log);
    const config cfg = parse("[log]\nformat = \"json\"\naccess = true\n");
    EXPECT_EQ(cfg.log_output_format, log_format::json);
    EXPECT_TRUE(cfg.access_log);
    EXPECT_EQ(parse("[log]\nformat = \"text\"\n").log_output_format, log_format::text);
}

TEST(ConfigErrors, LogFormatAndAccessNameTheKey) {
    EXPECT_THAT(error_of("[log]\nformat = \"xml\"\n"), StartsWith("test.toml: log.format: "));
    EXPECT_THAT(error_of("[log]\naccess = \"yes\"\n"), StartsWith("test.toml: log.access: "));
}

TEST(ConfigErrors, SyntaxErrorNamesFileLineAndColumn) {
    const std::string message =
        error_of("[server]\nlisten = \"127.0.0.1:8080\"\nio_threads = = 2\n");
    EXPECT_THAT(message,
                AllOf(StartsWith("test.toml: "), HasSubstr("line 3"), HasSubstr("column")));
}

TEST(ConfigErrors, UnknownTopLevelTableOrKey) {
    EXPECT_EQ(error_of("[serverr]\nlisten = \"127.0.0.1:8080\"\n"),
              "test.toml: serverr: unknown key");
    EXPECT_EQ(error_of("listen = \"127.0.0.1:8080\"\n"), "test.toml: listen: unknown key");
    EXPECT_EQ(error_of("\"a.b\" = 1\n"), "test.toml: \"a.b\": unknown key");
}

TEST(ConfigErrors, UnknownKeyInSection) {
    EXPECT_EQ(error_of("[server]\nlisen = \"127.0.0.1:8080\"\n"),
              "test.toml: server.lisen: unknown key");
    EXPECT_EQ(error_of("[log]\nlevl = \"info\"\n"), "test.toml: log.levl: unknown key");
    EXPECT_EQ(error_of("[schema]\nstrict = true\n"), "test.toml: schema.strict: unknown key");
    EXPECT_EQ(error_of("[rejects]\nfile = \"x\"\n"), "test.toml: rejects.file: unknown key");
}

TEST(ConfigErrors, FirstUnknownKeyInFileOrderIsNamed) {
    EXPECT_EQ(error_of("[server]\nzz_late = 1\naa_early = 2\n"),
              "test.toml: server.zz_late: unknown key");
}

TEST(ConfigErrors, SectionThatIsNotATable) {
    EXPECT_EQ(error_of("server = \"127.0.0.1:8080\"\n"),
              "test.toml: server: expected a table, got a string");
}

TEST(ConfigErrors, WrongTypeNamesKeyAndBothTypes) {
    EXPECT_EQ(error_of("[server]\nio_threads = \"4\"\n"),
              "test.toml: server.io_threads: expected an integer, got a string");
    EXPECT_EQ(error_of("[server]\nmax_body_bytes = 1.5\n"),
              "test.toml: server.max_body_bytes: expected an integer, got a floating-point number");
    EXPECT_EQ(error_of("[server]\nlisten = 8080\n"),
              "test.toml: server.listen: expected a string, got an integer");
    EXPECT_EQ(error_of("[rejects]\npath = true\n"),
              "test.toml: rejects.path: expected a string, got a boolean");
}

TEST(ConfigErrors, IntegerOutOfRangeSaysTheRange) {
    EXPECT_EQ(error_of("[server]\nio_threads = 300\n"),
              "test.toml: server.io_threads: must be between 0 and 256, got 300");
    EXPECT_THAT(error_of("[server]\nmax_connections = 0\n"),
                StartsWith("test.toml: server.max_connections: must be between 1 and "));
    EXPECT_THAT(error_of("[schema]\nmax_depth = -1\n"),
                StartsWith("test.toml: schema.max_depth: must be between 1 and "));

    EXPECT_EQ(error_of("[server]\nmax_header_fields = 0\n"),
              "test.toml: server.max_header_fields: must be between 1 and 10000, got 0");
    EXPECT_EQ(error_of("[server]\nmax_header_fields = 10001\n"),
              "test.toml: server.max_header_fields: must be between 1 and 10000, got 10001");
    EXPECT_THAT(error_of("[server]\nmax_connections_per_client = -1\n"),
                StartsWith("test.toml: server.max_connections_per_client: must be between 0 and "));

    // Beast cannot hold a header field of 64 KiB or more.
    EXPECT_EQ(error_of("[server]\nmax_header_bytes = 65536\n"),
              "test.toml: server.max_header_bytes: must be between 1024 and 65535, got 65536");
}

TEST(ConfigErrors, BadDuration) {
    EXPECT_THAT(error_of("[server]\nrequest_timeout = \"10\"\n"),
                AllOf(StartsWith("test.toml: server.request_timeout: "), HasSubstr("\"10\"")));
    EXPECT_THAT(error_of("[server]\nidle_timeout = \"ten seconds\"\n"),
                StartsWith("test.toml: server.idle_timeout: "));
    EXPECT_EQ(error_of("[server]\nshutdown_grace = \"0s\"\n"),
              "test.toml: server.shutdown_grace: must be longer than zero");
    EXPECT_THAT(
        error_of("[server]\nrequest_timeout = 10\n"),
        AllOf(StartsWith("test.toml: server.request_timeout: "), HasSubstr("got an integer")));

    // A huge timeout would overflow the clocks and fire at once; it is refused instead.
    EXPECT_EQ(error_of("[server]\nidle_timeout = \"169h\"\n"),
              "test.toml: server.idle_timeout: must be at most 7 days (\"168h\"), got \"169h\"");
    EXPECT_EQ(parse("[server]\nidle_timeout = \"168h\"\n").server.idle_timeout,
              std::chrono::hours(168));
}

TEST(ConfigErrors, HeaderTimeoutPastTheRequestTimeout) {
    EXPECT_EQ(error_of("[server]\nheader_timeout = \"11s\"\n"),
              "test.toml: server.header_timeout: must be at most request_timeout (10000 ms)");
    EXPECT_EQ(error_of("[server]\nrequest_timeout = \"1s\"\nheader_timeout = \"2s\"\n"),
              "test.toml: server.header_timeout: must be at most request_timeout (1000 ms)");
    EXPECT_EQ(parse("[server]\nheader_timeout = \"10s\"\n").server.header_timeout,
              std::chrono::seconds(10));
}

TEST(Config, HeaderTimeoutLeftOutIsNeverPastTheRequestTimeout) {
    // A config that only shortens request_timeout stays valid: the head gets the same deadline.
    EXPECT_EQ(parse("[server]\nrequest_timeout = \"2s\"\n").server.header_timeout,
              std::chrono::seconds(2));
    EXPECT_EQ(parse("[server]\nrequest_timeout = \"30s\"\n").server.header_timeout,
              std::chrono::seconds(5));
}

TEST(ConfigErrors, BadListenAddress) {
    for (const char* listen :
         {"localhost:8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:80a",
          "::1:8080", "[127.0.0.1]:8080", "[::1]", ":8080", "127.0.0.1:-1", "999.0.0.1:8080"}) {
        EXPECT_THAT(error_of(std::string("[server]\nlisten = \"") + listen + "\"\n"),
                    StartsWith("test.toml: server.listen: expected an IP address and port"))
            << listen;
    }
}

TEST(TlsConfig, AbsentTableMeansNoHttpsListener) { EXPECT_FALSE(parse("").tls.has_value()); }

TEST(TlsConfig, ReadsEveryKey) {
    const config cfg = parse(R"(
        [tls]
        listen = "0.0.0.0:8082"
        cert_file = "/etc/seshook/tls/fullchain.pem"
        key_file = "/etc/seshook/tls/privkey.pem"
        min_version = "1.3"
        ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384"
        ciphersuites = "TLS_AES_256_GCM_SHA384"
    )");
    ASSERT_TRUE(cfg.tls.has_value());
    EXPECT_EQ(cfg.tls->listen_host, "0.0.0.0");
    EXPECT_EQ(cfg.tls->listen_port, 8082);
    EXPECT_EQ(cfg.tls->cert_file, "/etc/seshook/tls/fullchain.pem");
    EXPECT_EQ(cfg.tls->key_file, "/etc/seshook/tls/privkey.pem");
    EXPECT_EQ(cfg.tls->min_version, tls_version::v1_3);
    EXPECT_EQ(cfg.tls->ciphers, "ECDHE-ECDSA-AES256-GCM-SHA384");
    EXPECT_EQ(cfg.tls->ciphersuites, "TLS_AES_256_GCM_SHA384");
    EXPECT_TRUE(cfg.server.listen_plain);
}

TEST(TlsConfig, DefaultsAreLoopback8081AndModernCiphers) {
    const config cfg = parse("[tls]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n");
    ASSERT_TRUE(cfg.tls.has_value());
    EXPECT_EQ(cfg.tls->listen_host, "127.0.0.1");
    EXPECT_EQ(cfg.tls->listen_port, 8081);
    EXPECT_EQ(cfg.tls->min_version, tls_version::v1_2);
    EXPECT_EQ(cfg.tls->ciphers, default_tls_ciphers);
    EXPECT_EQ(cfg.tls->ciphersuites, default_tls_ciphersuites);

    // Every TLS 1.2 cipher of the default has forward secrecy and authenticated encryption.
    for (std::size_t start = 0; start < default_tls_ciphers.size();) {
        const auto end = std::min(default_tls_ciphers.find(':', start), default_tls_ciphers.size());
        const auto cipher = default_tls_ciphers.substr(start, end - start);
        EXPECT_THAT(std::string(cipher), StartsWith("ECDHE-")) << cipher;
        EXPECT_TRUE(cipher.find("GCM") != cipher.npos || cipher.find("CHACHA20") != cipher.npos)
            << cipher;
        start = end + 1;
    }
}

TEST(TlsConfig, EmptyServerListenTurnsPlainHttpOffWhenTlsIsSet) {
    const config cfg =
        parse("[server]\nlisten = \"\"\n[tls]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n");
    EXPECT_FALSE(cfg.server.listen_plain);
    ASSERT_TRUE(cfg.tls.has_value());
}

TEST(TlsConfigErrors, NothingWouldListen) {
    EXPECT_EQ(error_of("[server]\nlisten = \"\"\n"),
              "test.toml: server.listen: may be empty only when a [tls] table is set, or nothing "
              "would listen");
}

TEST(TlsConfigErrors, CertificateAndKeyFilesAreRequired) {
    EXPECT_EQ(error_of("[tls]\nkey_file = \"k.pem\"\n"), "test.toml: tls.cert_file: is required");
    EXPECT_EQ(error_of("[tls]\ncert_file = \"c.pem\"\n"), "test.toml: tls.key_file: is required");
    EXPECT_EQ(error_of("[tls]\ncert_file = \"\"\nkey_file = \"k.pem\"\n"),
              "test.toml: tls.cert_file: must not be empty");
}

TEST(TlsConfigErrors, OnlyTls12AndLaterCanBeTheMinimum) {
    const std::string files = "cert_file = \"c.pem\"\nkey_file = \"k.pem\"\n";
    for (const char* version : {"1.0", "1.1", "1.4", "TLSv1.2", ""}) {
        EXPECT_THAT(error_of("[tls]\n" + files + "min_version = \"" + version + "\"\n"),
                    AllOf(StartsWith("test.toml: tls.min_version: must be \"1.2\" or \"1.3\""),
                          HasSubstr("nothing older is allowed")))
            << version;
    }
    EXPECT_THAT(error_of("[tls]\n" + files + "min_version = 1.2\n"),
                StartsWith("test.toml: tls.min_version: expected a string"));
}

TEST(TlsConfigErrors, BadListenUnknownKeyOrEmptyCipherList) {
    const std::string files = "cert_file = \"c.pem\"\nkey_file = \"k.pem\"\n";
    EXPECT_THAT(error_of("[tls]\n" + files + "listen = \"8081\"\n"),
                StartsWith("test.toml: tls.listen: expected an IP address and port"));
    EXPECT_THAT(error_of("[tls]\n" + files + "certificate = \"c.pem\"\n"),
                StartsWith("test.toml: tls.certificate: unknown key"));
    EXPECT_EQ(error_of("[tls]\n" + files + "ciphers = \"\"\n"),
              "test.toml: tls.ciphers: must not be empty");
    EXPECT_EQ(error_of("[tls]\n" + files + "ciphersuites = \"\"\n"),
              "test.toml: tls.ciphersuites: must not be empty");
}

TEST(TlsConfigErrors, TlsCannotShareThePlainAddress) {
    const std::string files = "cert_file = \"c.pem\"\nkey_file = \"k.pem\"\n";
    EXPECT_THAT(
        error_of("[server]\nlisten = \"127.0.0.1:8081\"\n[tls]\n" + files),
        StartsWith("test.toml: tls.listen: is the same address as server.listen; give HTTPS"));

    // Port 0 is a fresh port for each listener, and another host is another address.
    EXPECT_NO_THROW(
        parse("[server]\nlisten = \"127.0.0.1:0\"\n[tls]\nlisten = \"127.0.0.1:0\"\n" + files));
    EXPECT_NO_THROW(
        parse("[server]\nlisten = \"127.0.0.1:8081\"\n[tls]\nlisten = \"[::1]:8081\"\n" + files));
}

TEST(ConfigErrors, BadCallbackPath) {
    EXPECT_EQ(error_of("[server]\ncallback_path = \"callback\"\n"),
              "test.toml: server.callback_path: must start with \"/\"");
    EXPECT_THAT(error_of("[server]\ncallback_path = \"/healthz\"\n"),
                StartsWith("test.toml: server.callback_path: "));
    for (const char* path : {"/a b", "/cb?token=1", "/cb#x", "/cb\\t"}) {
        EXPECT_THAT(error_of(std::string("[server]\ncallback_path = \"") + path + "\"\n"),
                    StartsWith("test.toml: server.callback_path: "))
            << path;
    }
}

TEST(ConfigErrors, OperationsPathsAreReservedFromTheCallbackPath) {
    for (const char* path : {"/readyz", "/metrics"}) {
        EXPECT_EQ(error_of(std::string("[server]\ncallback_path = \"") + path + "\"\n"),
                  std::string("test.toml: server.callback_path: \"") + path +
                      "\" is reserved for the operations endpoints");
    }
}

TEST(MetricsConfig, ListenIsOptionalAndTakesAnAddress) {
    EXPECT_FALSE(parse("").metrics.listen_separately);
    EXPECT_FALSE(parse("[metrics]\nlisten = \"\"\n").metrics.listen_separately);
    const config cfg = parse("[metrics]\nlisten = \"[::1]:9090\"\n");
    EXPECT_TRUE(cfg.metrics.listen_separately);
    EXPECT_EQ(cfg.metrics.listen_host, "::1");
    EXPECT_EQ(cfg.metrics.listen_port, 9090);
}

TEST(MetricsConfig, MistakesNameTheKey) {
    EXPECT_THAT(error_of("[metrics]\nlisten = \"localhost:9090\"\n"),
                StartsWith("test.toml: metrics.listen: expected an IP address and port"));
    EXPECT_THAT(error_of("[metrics]\nlisten = 9090\n"), StartsWith("test.toml: metrics.listen: "));
    EXPECT_EQ(error_of("[metrics]\nport = 9090\n"), "test.toml: metrics.port: unknown key");
}

TEST(MetricsConfig, MetricsCannotShareACallbackListenersAddress) {
    EXPECT_THAT(error_of("[server]\nlisten = \"127.0.0.1:8080\"\n[metrics]\nlisten = "
                         "\"127.0.0.1:8080\"\n"),
                StartsWith("test.toml: metrics.listen: is the same address as server.listen"));
    EXPECT_THAT(error_of("[tls]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n[metrics]\n"
                         "listen = \"127.0.0.1:8081\"\n"),
                StartsWith("test.toml: metrics.listen: is the same address as tls.listen"));
    EXPECT_NO_THROW(
        parse("[server]\nlisten = \"127.0.0.1:0\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n"));
}

TEST(ConfigErrors, CallbackPathIsNeverRepeated) {
    // The path holds the operator's secret; a message that is logged must not show it.
    const std::string message = error_of("[server]\ncallback_path = \"/s3cr3t?x\"\n");
    EXPECT_THAT(message, StartsWith("test.toml: server.callback_path: "));
    EXPECT_THAT(message, ::testing::Not(HasSubstr("s3cr3t")));
}

TEST(ConfigErrors, BadChoiceListsTheChoices) {
    EXPECT_THAT(error_of("[log]\nlevel = \"verbose\"\n"),
                AllOf(StartsWith("test.toml: log.level: must be one of "), HasSubstr("\"debug\""),
                      HasSubstr("\"verbose\"")));
    EXPECT_THAT(error_of("[schema]\nmode = \"loose\"\n"),
                AllOf(StartsWith("test.toml: schema.mode: must be one of "),
                      HasSubstr("\"lenient\""), HasSubstr("\"strict\"")));
}

TEST(ConfigErrors, EmptyRejectsPath) {
    EXPECT_EQ(error_of("[rejects]\npath = \"\"\n"), "test.toml: rejects.path: must not be empty");
}

TEST(ConfigErrors, SinksMustBeAnArrayOfTables) {
    EXPECT_THAT(error_of("[sinks]\ntype = \"log\"\nname = \"a\"\n"),
                StartsWith("test.toml: sinks: expected an array of tables"));
    EXPECT_THAT(error_of("sinks = [\"log\"]\n"),
                StartsWith("test.toml: sinks: expected an array of tables"));
}

TEST(ConfigErrors, SinkWithoutTypeOrName) {
    EXPECT_EQ(error_of("[[sinks]]\nname = \"a\"\n"), "test.toml: sinks[0].type: is required");
    EXPECT_EQ(error_of("[[sinks]]\ntype = \"log\"\nname = \"a\"\n[[sinks]]\ntype = \"log\"\n"),
              "test.toml: sinks[1].name: is required");
    EXPECT_EQ(error_of("[[sinks]]\ntype = 3\nname = \"a\"\n"),
              "test.toml: sinks[0].type: expected a string, got an integer");
}

TEST(ConfigErrors, BadSinkName) {
    EXPECT_THAT(error_of("[[sinks]]\ntype = \"log\"\nname = \"a/b\"\n"),
                StartsWith("test.toml: sinks[0].name: must be 1 to 64 letters"));
    EXPECT_THAT(error_of("[[sinks]]\ntype = \"log\"\nname = \"\"\n"),
                StartsWith("test.toml: sinks[0].name: "));
}

TEST(ConfigErrors, DuplicateSinkName) {
    EXPECT_EQ(error_of(R"(
        [[sinks]]
        type = "log"
        name = "main"
        [[sinks]]
        type = "file"
        name = "other"
        path = "a.jsonl"
        [[sinks]]
        type = "file"
        name = "main"
        path = "b.jsonl"
    )"),
              "test.toml: sinks[2].name: \"main\" is already the name of sinks[0]");
}

TEST(ConfigErrors, UnknownEventInFilterIsNamed) {
    const std::string message =
        error_of("[[sinks]]\ntype = \"log\"\nname = \"a\"\nevents = [\"bounce\", \"bounced\"]\n");
    EXPECT_THAT(message,
                AllOf(StartsWith("test.toml: sinks[0].events[1]: unknown event \"bounced\""),
                      HasSubstr("bounce"), HasSubstr("delivered")));
}

TEST(ConfigErrors, BadEventFilter) {
    EXPECT_EQ(error_of("[[sinks]]\ntype = \"log\"\nname = \"a\"\nevents = [\"open\", 4]\n"),
              "test.toml: sinks[0].events[1]: expected a string, got an integer");
    EXPECT_EQ(error_of("[[sinks]]\ntype = \"log\"\nname = \"a\"\nevents = \"open\"\n"),
              "test.toml: sinks[0].events: expected an array of strings, got a string");
    EXPECT_THAT(error_of("[[sinks]]\ntype = \"log\"\nname = \"a\"\nevents = []\n"),
                StartsWith("test.toml: sinks[0].events: must name at least one event"));
}

TEST(ConfigErrors, BadQueueCapacity) {
    EXPECT_THAT(error_of("[[sinks]]\ntype = \"log\"\nname = \"a\"\nqueue_capacity = 0\n"),
                StartsWith("test.toml: sinks[0].queue_capacity: must be between 1 and "));
}

// One sink, without which a config file does not load.
constexpr std::string_view log_sink_toml = "[[sinks]]\ntype = \"log\"\nname = \"log\"\n";

// ---------------------------------------------------------------------------------------------
// [auth] and the rate limit.

constexpr std::string_view token_a = "k3J9-xQ2_vL8.tR5~wZ1";
constexpr std::string_view token_b = "Zm9vYmFyYmF6cXV4cXV1eA";

TEST(AuthConfig, NothingConfiguredLetsEveryoneIn) {
    const config cfg = parse("");
    EXPECT_TRUE(cfg.auth.tokens.empty());
    EXPECT_TRUE(cfg.auth.basic_users.empty());
    EXPECT_TRUE(cfg.auth.allow_networks.empty());
    EXPECT_TRUE(cfg.auth.trusted_proxies.empty());
    EXPECT_TRUE(cfg.auth.accounts.empty());
    EXPECT_EQ(cfg.server.rate_limit, 0u);
}

TEST(AuthConfig, ReadsEveryKey) {
    const config cfg = parse(R"(
        [auth]
        tokens = ["k3J9-xQ2_vL8.tR5~wZ1", "Zm9vYmFyYmF6cXV4cXV1eA"]
        basic_users = ["tencent:0123456789abcdef"]
        allow_networks = ["192.0.2.0/24", "2001:db8::/32", "198.51.100.7"]
        trusted_proxies = ["10.0.0.1"]
        accounts = ["1300000001", "251200670"]
    )");
    EXPECT_EQ(cfg.auth.tokens.size(), 2u);
    EXPECT_TRUE(cfg.auth.tokens.contains(token_a));
    EXPECT_TRUE(cfg.auth.tokens.contains(token_b));
    EXPECT_TRUE(cfg.auth.basic_users.contains("tencent:0123456789abcdef"));
    EXPECT_EQ(cfg.auth.allow_networks.size(), 3u);
    EXPECT_TRUE(cfg.auth.allow_networks.contains(*parse_ip_address("198.51.100.7")));
    EXPECT_FALSE(cfg.auth.allow_networks.contains(*parse_ip_address("198.51.100.8")));
    EXPECT_TRUE(cfg.auth.trusted_proxies.contains(*parse_ip_address("10.0.0.1")));
    EXPECT_EQ(cfg.auth.accounts, (std::set<std::string, std::less<>>{"1300000001", "251200670"}));
}

TEST(AuthConfig, OneTokenMayBeAString) {
    const config cfg = parse("[auth]\ntokens = \"k3J9-xQ2_vL8.tR5~wZ1\"\n");
    EXPECT_EQ(cfg.auth.tokens.size(), 1u);
    EXPECT_TRUE(cfg.auth.tokens.contains(token_a));
}

TEST(AuthConfig, ReadsTokenAndUserFilesSkippingBlanksAndComments) {
    const temp_dir dir;
    const auto tokens = write_file(dir, "tokens",
                                   "# rotated 2025-03-14\n\n  k3J9-xQ2_vL8.tR5~wZ1  \r\n"
                                   "\t# old one, drop after the switch\nZm9vYmFyYmF6cXV4cXV1eA");
    const auto users = write_file(dir, "users", "tencent:0123456789abcdef\n\n");
    const config cfg =
        parse("[auth]\ntokens = [\"zzzzzzzzzzzzzzzzzzzz\"]\ntoken_file = \"" + tokens.string() +
              "\"\nbasic_users_file = \"" + users.string() + "\"\n");
    EXPECT_EQ(cfg.auth.tokens.size(), 3u);
    EXPECT_TRUE(cfg.auth.tokens.contains(token_a));
    EXPECT_TRUE(cfg.auth.tokens.contains(token_b));
    EXPECT_TRUE(cfg.auth.tokens.contains("zzzzzzzzzzzzzzzzzzzz"));
    EXPECT_EQ(cfg.auth.basic_users.size(), 1u);
    EXPECT_TRUE(cfg.auth.basic_users.contains("tencent:0123456789abcdef"));
}

TEST(AuthConfig, BurstDefaultsToTwiceTheRate) {
    EXPECT_EQ(parse("[server]\nrate_limit = 5\n").server.rate_burst, 10u);
    EXPECT_EQ(parse("[server]\nrate_limit = 5\nrate_burst = 3\n").server.rate_burst, 3u);
    EXPECT_EQ(parse("[server]\nrate_limit = 1\n").server.rate_burst, 2u);
    EXPECT_EQ(parse("[server]\nrate_limit = 0\n").server.rate_limit, 0u);
}

TEST(AuthConfigErrors, BadTokensAreNamedButNeverShown) {
    const std::string short_token = "tooShort-123";
    const std::string slash_token = "abcdefghij/klmnopq";
    const std::string first =
        error_of("[auth]\ntokens = [\"" + std::string(token_a) + "\", \"" + short_token + "\"]\n");
    EXPECT_THAT(first, StartsWith("test.toml: auth.tokens[1]: must be at least 16 characters"));
    EXPECT_THAT(first, Not(HasSubstr(short_token)));

    const std::string second = error_of("[auth]\ntokens = \"" + slash_token + "\"\n");
    EXPECT_THAT(second, StartsWith("test.toml: auth.tokens: may hold only letters, digits"));
    EXPECT_THAT(second, Not(HasSubstr("abcdefghij")));

    EXPECT_THAT(error_of("[auth]\ntokens = 12\n"),
                HasSubstr("auth.tokens: expected a string or an array of strings, got an integer"));
    EXPECT_THAT(error_of("[auth]\ntokens = [12]\n"),
                HasSubstr("auth.tokens[0]: expected a string, got an integer"));
}

TEST(AuthConfigErrors, BadTokenFileIsNamed) {
    const temp_dir dir;
    const auto missing = dir / "missing";
    EXPECT_THAT(error_of("[auth]\ntoken_file = \"" + missing.string() + "\"\n"),
                StartsWith("test.toml: auth.token_file: cannot read " + missing.string() +
                           ": no such file or directory"));
    EXPECT_THAT(
        error_of("[auth]\ntoken_file = \"" + dir.path().string() + "\"\n"),
        HasSubstr("auth.token_file: cannot read " + dir.path().string() + ": it is a directory"));

    // NOTE: an empty file must not leave the endpoint open by mistake.
    const auto empty = write_file(dir, "empty", "# nothing yet\n\n");
    EXPECT_THAT(error_of("[auth]\ntoken_file = \"" + empty.string() + "\"\n"),
                HasSubstr("auth.token_file: " + empty.string() + " holds no entry"));

    const auto bad = write_file(dir, "bad", std::string(token_a) + "\nhunter2-hunter2\n");
    const std::string message = error_of("[auth]\ntoken_file = \"" + bad.string() + "\"\n");
    EXPECT_THAT(message, HasSubstr("auth.token_file: " + bad.string() +
                                   ", line 2: must be at least 16 characters"));
    EXPECT_THAT(message, Not(HasSubstr("hunter2")));
}

TEST(AuthConfigErrors, BadBasicUsersAreNamedButNeverShown) {
    const std::string message =
        error_of("[auth]\nbasic_users = [\"tencent:0123456789abcdef\", \"ops:hunter2\"]\n");
    EXPECT_THAT(message, StartsWith("test.toml: auth.basic_users[1]: has a password shorter"));
    EXPECT_THAT(message, Not(HasSubstr("hunter2")));
    EXPECT_THAT(message, Not(HasSubstr("ops")));
    EXPECT_THAT(error_of("[auth]\nbasic_users = [\"no-colon-in-here-at-all\"]\n"),
                HasSubstr("auth.basic_users[0]: must be written \"user:password\""));

    const temp_dir dir;
    const auto users = write_file(dir, "users", "\nops:hunter2\n");
    const std::string from_file =
        error_of("[auth]\nbasic_users_file = \"" + users.string() + "\"\n");
    EXPECT_THAT(from_file, HasSubstr("auth.basic_users_file: " + users.string() + ", line 2:"));
    EXPECT_THAT(from_file, Not(HasSubstr("hunter2")));
}

TEST(AuthConfigErrors, MalformedNetworkNamesKeyAndEntry) {
    EXPECT_THAT(error_of("[auth]\nallow_networks = [\"192.0.2.0/24\", \"192.0.2.0/33\"]\n"),
                StartsWith("test.toml: auth.allow_networks[1]: \"192.0.2.0/33\" has a prefix "
                           "length that is not 0 to 32"));
    EXPECT_THAT(error_of("[auth]\ntrusted_proxies = [\"proxy.example.net\"]\n"),
                StartsWith("test.toml: auth.trusted_proxies[0]: \"proxy.example.net\" is not an "
                           "IPv4 or IPv6 address"));
    EXPECT_THAT(error_of("[auth]\nallow_networks = [\"10.1.2.3/8\"]\n"),
                HasSubstr("auth.allow_networks[0]: \"10.1.2.3/8\" has bits set past its prefix"));
    EXPECT_THAT(error_of("[auth]\nallow_networks = \"10.0.0.0/8\"\n"),
                HasSubstr("auth.allow_networks: expected an array of strings, got a string"));
}

TEST(AuthConfigErrors, AccountsAreDigits) {
    EXPECT_THAT(error_of("[auth]\naccounts = [\"1300000001\", \"acme\"]\n"),
                StartsWith("test.toml: auth.accounts[1]: expected an account id"));
    EXPECT_THAT(error_of("[auth]\naccounts = [\"\"]\n"), HasSubstr("auth.accounts[0]:"));
    EXPECT_THAT(error_of("[auth]\naccounts = [1300000001]\n"),
                HasSubstr("auth.accounts[0]: expected a string, got an integer"));
}

TEST(AuthConfigErrors, UnknownKeyAndBadRateLimit) {
    EXPECT_THAT(error_of("[auth]\ntoken = \"k3J9-xQ2_vL8.tR5~wZ1\"\n"),
                HasSubstr("auth.token: unknown key"));
    EXPECT_THAT(error_of("[server]\nrate_limit = -1\n"),
                HasSubstr("server.rate_limit: must be between 0 and 1000000"));
    EXPECT_THAT(error_of("[server]\nrate_burst = 0\n"),
                HasSubstr("server.rate_burst: must be between 1 and 10000000"));
}

TEST(LoadConfig, FileWithoutSinksIsRefused) {
    const env_guard no_listen("SESHOOK_LISTEN", std::nullopt);
    const temp_dir dir;
    for (const auto* text : {"", "sinks = []\n"}) {
        const auto file = write_file(dir, "empty.toml", text);
        try {
            load_config(file);
            FAIL() << "no config_error for \"" << text << "\"";
        } catch (const config_error& e) {
            EXPECT_THAT(e.what(), StartsWith(file.string() + ": sinks: at least one [[sinks]]"));
        }
    }
}

TEST(LoadConfig, ReadsFileAndNamesItInErrors) {
    const env_guard no_listen("SESHOOK_LISTEN", std::nullopt);
    const temp_dir dir;
    const auto good = write_file(
        dir, "good.toml", "[server]\nlisten = \"127.0.0.1:8082\"\n" + std::string(log_sink_toml));
    const config cfg = load_config(good);
    EXPECT_EQ(cfg.source, good.string());
    EXPECT_EQ(cfg.server.listen_port, 8082);

    const auto bad = write_file(dir, "bad.toml", "[server]\nio_threads = \"x\"\n");
    try {
        load_config(bad);
        FAIL() << "no config_error";
    } catch (const config_error& e) {
        EXPECT_THAT(e.what(), StartsWith(bad.string() + ": server.io_threads: "));
    }
}

TEST(LoadConfig, MissingFileOrFolderIsNamed) {
    const temp_dir dir;
    const auto missing = dir.path() / "missing.toml";
    try {
        load_config(missing);
        FAIL() << "no config_error";
    } catch (const config_error& e) {
        EXPECT_THAT(e.what(), StartsWith(missing.string() + ": cannot read"));
    }
    try {
        load_config(dir.path());
        FAIL() << "no config_error";
    } catch (const config_error& e) {
        EXPECT_THAT(e.what(), StartsWith(dir.path().string() + ": cannot read"));
    }
}

TEST(LoadConfig, EnvironmentOverridesListenAddress) {
    const temp_dir dir;
    const auto file =
        write_file(dir, "seshook.toml",
                   "[server]\nlisten = \"127.0.0.1:8081\"\n" + std::string(log_sink_toml));
    {
        const env_guard listen("SESHOOK_LISTEN", "[::]:8082");
        const config cfg = load_config(file);
        EXPECT_EQ(cfg.server.listen_host, "::");
        EXPECT_EQ(cfg.server.listen_port, 8082);
    }
    {
        const env_guard listen("SESHOOK_LISTEN", "");
        EXPECT_EQ(load_config(file).server.listen_port, 8081);
    }
}

TEST(LoadConfig, BadEnvironmentListenAddressIsNamed) {
    const temp_dir dir;
    const auto file = write_file(dir, "seshook.toml", std::string(log_sink_toml));
    const env_guard listen("SESHOOK_LISTEN", "8080");
    try {
        load_config(file);
        FAIL() << "no config_error";
    } catch (const config_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("SESHOOK_LISTEN: expected an IP address and port"));
    }
}

TEST(LoadConfig, EnvironmentAddsTokens) {
    const temp_dir dir;
    const auto file = write_file(
        dir, "seshook.toml",
        "[auth]\ntokens = \"" + std::string(token_a) + "\"\n" + std::string(log_sink_toml));
    {
        const env_guard tokens("SESHOOK_AUTH_TOKENS",
                               " Zm9vYmFyYmF6cXV4cXV1eA,zzzzzzzzzzzzzzzzzzzz\n");
        const config cfg = load_config(file);
        EXPECT_EQ(cfg.auth.tokens.size(), 3u);
        EXPECT_TRUE(cfg.auth.tokens.contains(token_a));
        EXPECT_TRUE(cfg.auth.tokens.contains(token_b));
        EXPECT_TRUE(cfg.auth.tokens.contains("zzzzzzzzzzzzzzzzzzzz"));
    }
    {
        const env_guard tokens("SESHOOK_AUTH_TOKENS", "");
        EXPECT_EQ(load_config(file).auth.tokens.size(), 1u);
    }
}

TEST(LoadConfig, BadEnvironmentTokenIsNamedButNeverShown) {
    const temp_dir dir;
    const auto file = write_file(dir, "seshook.toml", std::string(log_sink_toml));
    for (const auto& [value, expected] :
         {std::pair{std::string(token_a) + " hunter2-hunter2",
                    "environment: SESHOOK_AUTH_TOKENS: token 2: must be at least 16 characters"},
          std::pair{std::string(" , \t"), "environment: SESHOOK_AUTH_TOKENS: holds no token"}}) {
        const env_guard tokens("SESHOOK_AUTH_TOKENS", value);
        try {
            load_config(file);
            ADD_FAILURE() << "no config_error for " << value;
        } catch (const config_error& e) {
            EXPECT_THAT(e.what(), StartsWith(expected));
            EXPECT_THAT(e.what(), Not(HasSubstr("hunter2")));
        }
    }
}

TEST(LoadConfig, EnvironmentListenAddressTurnsPlainHttpOnButNotOntoTls) {
    const temp_dir dir;
    const auto file = write_file(
        dir, "seshook.toml",
        "[server]\nlisten = \"\"\n[tls]\nlisten = \"127.0.0.1:8081\"\ncert_file = \"c.pem\"\n"
        "key_file = \"k.pem\"\n" +
            std::string(log_sink_toml));
    {
        const env_guard listen("SESHOOK_LISTEN", "127.0.0.1:8080");
        const config cfg = load_config(file);
        EXPECT_TRUE(cfg.server.listen_plain);
        EXPECT_EQ(cfg.server.listen_port, 8080);
    }
    {
        const env_guard listen("SESHOOK_LISTEN", "127.0.0.1:8081");
        try {
            load_config(file);
            FAIL() << "no config_error";
        } catch (const config_error& e) {
            EXPECT_THAT(e.what(), HasSubstr("tls.listen: is the same address as SESHOOK_LISTEN"));
        }
    }
}

TEST(LoadConfig, ShippedConfigLoads) {
    const char* source_dir = std::getenv("SESHOOK_SOURCE_DIR");
    ASSERT_NE(source_dir, nullptr) << "SESHOOK_SOURCE_DIR is set by seshook_add_test";
    const env_guard no_listen("SESHOOK_LISTEN", std::nullopt);
    const config cfg = load_config(std::filesystem::path(source_dir) / "config" / "seshook.toml");

    // What `make run` and the README promise: port 8080 on loopback, events logged and filed.
    EXPECT_EQ(cfg.server.listen_host, "127.0.0.1");
    EXPECT_EQ(cfg.server.listen_port, 8080);
    EXPECT_EQ(cfg.server.callback_path, "/callback");
    EXPECT_FALSE(cfg.tls.has_value());
    ASSERT_EQ(cfg.sinks.size(), 2u);
    EXPECT_EQ(cfg.sinks[0].type, "log");
    EXPECT_EQ(cfg.sinks[1].type, "file");
    ASSERT_NE(cfg.sinks[1].options, nullptr);
    EXPECT_EQ(cfg.sinks[1].options->at_path("path").value_or(std::string()), "var/events.jsonl");
}

TEST(LoadConfig, ShippedTlsExampleShowsTheDefaults) {
    const char* source_dir = std::getenv("SESHOOK_SOURCE_DIR");
    ASSERT_NE(source_dir, nullptr) << "SESHOOK_SOURCE_DIR is set by seshook_add_test";

    // Take the commented-out [tls] table as an operator would: without the "# " of its lines.
    std::ifstream shipped(std::filesystem::path(source_dir) / "config" / "seshook.toml");
    std::string table;
    bool inside = false;
    for (std::string line; std::getline(shipped, line);) {
        if (line == "# [tls]") inside = true;
        if (!inside) continue;
        if (line.rfind("# ", 0) != 0) break;
        table += line.substr(2) + "\n";
    }
    ASSERT_FALSE(table.empty()) << "no commented-out [tls] table in the shipped config";

    // What it shows is what seshook does without it, the paths aside.
    const config cfg = parse(table);
    ASSERT_TRUE(cfg.tls.has_value());
    const tls_config defaults;
    EXPECT_EQ(cfg.tls->listen_host, defaults.listen_host);
    EXPECT_EQ(cfg.tls->listen_port, defaults.listen_port);
    EXPECT_EQ(cfg.tls->min_version, defaults.min_version);
    EXPECT_EQ(cfg.tls->ciphers, defaults.ciphers);
    EXPECT_EQ(cfg.tls->ciphersuites, defaults.ciphersuites);
}

}  // namespace
}  // namespace seshook
