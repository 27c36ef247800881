#pragma once

#include <toml++/toml.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "seshook/auth/network_list.hpp"
#include "seshook/auth/secret_check.hpp"
#include "seshook/config/config_error.hpp"
#include "seshook/event/schema.hpp"
#include "seshook/support/log_format.hpp"

namespace seshook {

/// `[server]`: where and how the HTTP endpoint listens.
struct server_config {
    bool listen_plain = true;  // false: `listen = ""`, only the [tls] listener serves
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 8080;
    std::string callback_path = "/callback";
    unsigned io_threads = 0;  // 0: one per core
    std::size_t max_connections = 10000;
    std::size_t max_connections_per_client = 256;  // by TCP peer address; 0: no cap
    std::size_t max_body_bytes = 1024 * 1024;
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_header_fields = 100;
    std::chrono::milliseconds header_timeout{5'000};  // at most request_timeout
    std::chrono::milliseconds request_timeout{10'000};
    std::chrono::milliseconds idle_timeout{60'000};
    std::chrono::milliseconds shutdown_grace{10'000};
    unsigned rate_limit = 0;  // requests a second per client address; 0: no limit
    unsigned rate_burst = 0;  // requests at once per client; 0 (unset): 2 x rate_limit
};

/// `[auth]`: who may post callbacks. Every list empty (the default): anyone may.
struct auth_config {
    secret_set tokens;             // tokens, token_file and SESHOOK_AUTH_TOKENS, as digests
    secret_set basic_users;        // "user:password" of basic_users and basic_users_file
    network_list allow_networks;   // clients that may connect; empty: every client
    network_list trusted_proxies;  // peers whose X-Forwarded-For and X-Real-IP are believed
    std::set<std::string, std::less<>> accounts;  // Tencent account ids; empty: every account
};

/// The oldest TLS version a client may speak; nothing older than 1.2 is ever offered.
enum class tls_version { v1_2, v1_3 };

/// Returns the config word of the version, e.g. "1.2".
std::string_view to_string(tls_version version) noexcept;

/// The TLS 1.2 cipher list used when `[tls] ciphers` is not set: forward secrecy (ECDHE) and
/// authenticated encryption (AES-GCM, ChaCha20-Poly1305) only.
inline constexpr std::string_view default_tls_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/// The TLS 1.3 cipher suites used when `[tls] ciphersuites` is not set.
inline constexpr std::string_view default_tls_ciphersuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/// `[tls]`: the HTTPS listener, which runs only when the file has a [tls] table. The files are
/// read when the daemon starts (and on SIGHUP), not when the configuration is parsed.
struct tls_config {
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 8081;
    std::filesystem::path cert_file;  // PEM certificate chain, leaf first
    std::filesystem::path key_file;   // PEM private key of the leaf
    tls_version min_version = tls_version::v1_2;
    std::string ciphers{default_tls_ciphers};
    std::string ciphersuites{default_tls_ciphersuites};
};

/// `[schema]`: how strictly callbacks are validated.
struct schema_config {
    schema_mode mode = schema_mode::lenient;
    schema_limits limits;
};

/// How an accepted event is kept until every sink has it; see `[spool] durability`.
enum class durability_mode {
    fsync,   // committed to the spool on stable storage before the 200
    write,   // committed to the spool and handed to the OS: survives a crash of seshook only
    memory,  // no spool: held in memory until the sinks take it, lost by a crash
};

/// Returns the config word of the mode, e.g. "fsync".
std::string_view to_string(durability_mode mode) noexcept;

/// `[spool]`: the on-disk store of accepted events.
struct spool_config {
    durability_mode durability = durability_mode::fsync;
    std::filesystem::path path = "var/spool.db";
    std::uint64_t max_bytes = std::uint64_t{1} << 30;  // payload bytes held at most
    std::chrono::milliseconds retry_after{5'000};      // Retry-After of the 503 when full
};

/// `[dedup]`: recognising an event that Tencent pushed again.
struct dedup_config {
    bool enabled = true;
    std::chrono::milliseconds window = std::chrono::hours(24);
};

/// `[metrics]`: where /metrics is served.
struct metrics_config {
    // A plain HTTP listener of its own for /metrics, /healthz and /readyz; without one, /metrics
    // is served by the callback listeners.
    bool listen_separately = false;
    std::string listen_host;
    std::uint16_t listen_port = 0;
};

/// `[[sinks]]`: one sink; the keys of its type stay in `options` for the sink's factory.
struct sink_config {
    std::string type;
    std::string name;
    std::vector<std::string> events;  // empty: every event
    std::size_t queue_capacity = 10000;
    std::size_t index = 0;                       // position in the file, for error messages
    std::shared_ptr<const toml::table> options;  // the whole [[sinks]] table
};

/// The whole configuration of the daemon.
struct config {
    std::string source;  // the file it was read from, for messages
    server_config server;
    std::optional<tls_config> tls;  // nothing: no HTTPS listener
    schema_config schema;
    auth_config auth;
    std::string log_level = "info";
    log_format log_output_format = log_format::text;  // [log] format
    bool access_log = false;                          // [log] access: a line per request
    std::filesystem::path rejects_path = "var/rejects.jsonl";
    spool_config spool;
    dedup_config dedup;
    metrics_config metrics;
    std::vector<sink_config> sinks;
};

/// Parses configuration text; `source` names it in errors. Throws config_error.
config parse_config(std::string_view toml_text, std::string source);

/// Reads and parses a configuration file, refuses one without sinks, then applies SESHOOK_LISTEN
/// and adds the tokens of SESHOOK_AUTH_TOKENS from the environment when they are set. Throws
/// config_error.
config load_config(const std::filesystem::path& path);

/// A numeric IP address and a port to listen on.
struct listen_address {
    std::string host;
    std::uint16_t port = 0;
};

/// Splits "host:port" or "[v6]:port"; throws config_error for `key` (named in the message) when
/// it is not such an address.
listen_address parse_listen_address(std::string_view text, std::string_view source,
                                    std::string_view key);

}  // namespace seshook
