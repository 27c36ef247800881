#include "seshook/config/config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <system_error>
#include <utility>

#include "seshook/config/table_reader.hpp"
#include "seshook/event/event_type.hpp"

namespace seshook {
namespace {

constexpr std::int64_t kib = 1024;
constexpr std::int64_t mib = 1024 * kib;
constexpr std::int64_t gib = 1024 * mib;

// The top-level keys of the file; anything else is a mistake.
constexpr std::array<std::string_view, 10> top_level_keys{
    "server", "tls", "log", "schema", "auth", "rejects", "spool", "dedup", "metrics", "sinks"};

const std::vector<std::string> log_levels{"trace", "debug",    "info", "warn",
                                          "error", "critical", "off"};

config_error key_error(std::string_view source, std::string_view key, std::string_view message) {
    std::string text(source);
    text += ": ";
    text += key;
    text += ": ";
    text += message;
    return config_error(text);
}

// Returns `text` with its first letter in lower case: messages here start in lower case, while
// toml++ and strerror() start theirs with a capital.
std::string lowercase_first(std::string_view text) {
    std::string result(text);
    if (!result.empty() && result[0] >= 'A' && result[0] <= 'Z') {
        result[0] = static_cast<char>(result[0] - 'A' + 'a');
    }
    return result;
}

bool is_ipv4(const std::string& host) {
    in_addr address{};
    return inet_pton(AF_INET, host.c_str(), &address) == 1;
}

bool is_ipv6(const std::string& host) {
    in6_addr address{};
    return inet_pton(AF_INET6, host.c_str(), &address) == 1;
}

// A callback path is compared with the request target as it comes, so it must be a plain path.
// NOTE: the message never repeats the path: operators put their secret in it.
void check_callback_path(const std::string& path, table_reader& reader) {
    if (path.empty() || path.front() != '/') {
        throw reader.error("callback_path", "must start with \"/\"");
    }
    for (const std::string_view reserved : {"/healthz", "/readyz", "/metrics"}) {
        if (path == reserved) {
            throw reader.error("callback_path", "\"" + std::string(reserved) +
                                                    "\" is reserved for the operations endpoints");
        }
    }
    for (const char c : path) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte == 0x7f || c == '?' || c == '#') {
            throw reader.error("callback_path",
                               "must be a path without spaces, control characters, '?' or '#'");
        }
    }
}

void read_server(const toml::table& table, const std::string& source, server_config& server) {
    table_reader reader(table, source, "server");
    if (auto listen = reader.optional_string("listen")) {
        // NOTE: empty turns plain HTTP off; parse_config() refuses that without [tls].
        server.listen_plain = !listen->empty();
        if (server.listen_plain) {
            auto address = parse_listen_address(*listen, source, reader.full_key("listen"));
            server.listen_host = std::move(address.host);
            server.listen_port = address.port;
        }
    }
    server.callback_path = reader.string_or("callback_path", server.callback_path);
    check_callback_path(server.callback_path, reader);
    server.io_threads =
        static_cast<unsigned>(reader.integer_or("io_threads", server.io_threads, 0, 256));
    server.max_connections = static_cast<std::size_t>(reader.integer_or(
        "max_connections", static_cast<std::int64_t>(server.max_connections), 1, 1'000'000));
    server.max_connections_per_client = static_cast<std::size_t>(reader.integer_or(
        "max_connections_per_client", static_cast<std::int64_t>(server.max_connections_per_client),
        0, 1'000'000));
    server.max_body_bytes = static_cast<std::size_t>(reader.integer_or(
        "max_body_bytes", static_cast<std::int64_t>(server.max_body_bytes), 1, gib));
    // NOTE: capped below 64 KiB: Boost.Beast cannot hold a single header field past that and
    // would throw instead of refusing the request.
    server.max_header_bytes = static_cast<std::size_t>(reader.integer_or(
        "max_header_bytes", static_cast<std::int64_t>(server.max_header_bytes), 1024, 65535));
    server.max_header_fields = static_cast<std::size_t>(reader.integer_or(
        "max_header_fields", static_cast<std::int64_t>(server.max_header_fields), 1, 10'000));
    server.request_timeout = reader.duration_or("request_timeout", server.request_timeout);

    // The head is part of the request, so its deadline cannot come later than the whole one's.
    // NOTE: left out, it is the default or the request timeout, whichever is shorter, so that a
    // config that only shortens request_timeout stays valid.
    server.header_timeout = reader.duration_or(
        "header_timeout", std::min(server.header_timeout, server.request_timeout));
    if (server.header_timeout > server.request_timeout) {
        throw reader.error("header_timeout", "must be at most request_timeout (" +
                                                 std::to_string(server.request_timeout.count()) +
                                                 " ms)");
    }
    server.idle_timeout = reader.duration_or("idle_timeout", server.idle_timeout);
    server.shutdown_grace = reader.duration_or("shutdown_grace", server.shutdown_grace);

    // The rate limit; a burst left out lets a client send two seconds' worth at once.
    server.rate_limit =
        static_cast<unsigned>(reader.integer_or("rate_limit", server.rate_limit, 0, 1'000'000));
    server.rate_burst =
        static_cast<unsigned>(reader.integer_or("rate_burst", server.rate_burst, 1, 10'000'000));
    if (server.rate_limit > 0 && server.rate_burst == 0) {
        server.rate_burst = std::max(1u, 2 * server.rate_limit);
    }
    reader.finish();
}

// Returns the name of item `index` of the list `key`, or `key` itself when it was one string.
std::string item_key(const table_reader& reader, std::string_view key, std::size_t index,
                     bool single) {
    std::string name = reader.full_key(key);
    if (!single) name += "[" + std::to_string(index) + "]";
    return name;
}

// The lines of a secrets file that are neither blank nor comments, trimmed, each with its
// line number.
std::vector<std::pair<std::size_t, std::string>> read_secret_lines(const std::string& path,
                                                                   table_reader& reader,
                                                                   std::string_view key) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw reader.error(key, "cannot read " + path + ": it is a directory");
    }
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        throw reader.error(key, "cannot read " + path + ": " +
                                    lowercase_first(std::generic_category().message(errno)));
    }
    std::vector<std::pair<std::size_t, std::string>> lines;
    std::size_t number = 0;
    for (std::string line; std::getline(file, line);) {
        ++number;
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos || line[first] == '#') continue;
        const auto last = line.find_last_not_of(" \t\r");
        lines.emplace_back(number, line.substr(first, last - first + 1));
    }
    if (file.bad()) throw reader.error(key, "cannot read " + path);

    // NOTE: an empty file must not quietly leave the endpoint open to everyone.
    if (lines.empty()) throw reader.error(key, path + " holds no entry");
    return lines;
}

// Reads the secrets of `list_key` (a string or an array) and of `file_key` (a file of one a
// line) into `secrets`, refusing each one `problem_of` finds fault with.
// NOTE: no message here quotes a secret, only where it stands.
template <typename ProblemOf>
void read_secrets(table_reader& reader, const toml::table& table, std::string_view list_key,
                  std::string_view file_key, ProblemOf problem_of, secret_set& secrets) {
    const toml::node* node = table.get(list_key);
    const bool single = node != nullptr && node->is_string();
    const auto inline_secrets = reader.strings_or(list_key, {});
    for (std::size_t i = 0; i < inline_secrets.size(); ++i) {
        if (const auto problem = problem_of(inline_secrets[i])) {
            throw key_error(reader.source(), item_key(reader, list_key, i, single), *problem);
        }
        secrets.add(inline_secrets[i]);
    }
    if (const auto path = reader.optional_string(file_key)) {
        for (const auto& [number, secret] : read_secret_lines(*path, reader, file_key)) {
            if (const auto problem = problem_of(secret)) {
                throw reader.error(file_key,
                                   *path + ", line " + std::to_string(number) + ": " + *problem);
            }
            secrets.add(secret);
        }
    }
}

void read_networks(table_reader& reader, std::string_view key, network_list& networks) {
    const auto entries = reader.string_list_or(key, {});
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto network = parse_network(entries[i]);
        if (!network) {
            throw key_error(reader.source(), item_key(reader, key, i, false),
                            "\"" + entries[i] + "\" " + std::string(to_string(network.error())));
        }
        networks.add(*network);
    }
}

// An account id is the appId that events carry as `username`: digits only.
bool is_account_id(std::string_view id) {
    if (id.empty() || id.size() > 20) return false;
    return std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void read_auth(const toml::table& table, const std::string& source, auth_config& auth) {
    table_reader reader(table, source, "auth");

    // Who holds a secret: tokens, or HTTP Basic users, each inline or from a file.
    read_secrets(reader, table, "tokens", "token_file", token_problem, auth.tokens);
    read_secrets(reader, table, "basic_users", "basic_users_file", basic_user_problem,
                 auth.basic_users);

    // Where clients may connect from, and whose forwarding headers are believed.
    read_networks(reader, "allow_networks", auth.allow_networks);
    read_networks(reader, "trusted_proxies", auth.trusted_proxies);

    // Whose events are taken.
    const auto accounts = reader.string_list_or("accounts", {});
    for (std::size_t i = 0; i < accounts.size(); ++i) {
        if (!is_account_id(accounts[i])) {
            throw key_error(source, item_key(reader, "accounts", i, false),
                            "expected an account id, the digits events carry as \"username\" "
                            "(e.g. \"1300000001\"), got \"" +
                                accounts[i] + "\"");
        }
        auth.accounts.insert(accounts[i]);
    }
    reader.finish();
}

tls_version read_tls_version(table_reader& reader, tls_version fallback) {
    const auto text = reader.optional_string("min_version");
    if (!text) return fallback;
    if (*text == "1.2") return tls_version::v1_2;
    if (*text == "1.3") return tls_version::v1_3;
    throw reader.error(
        "min_version",
        "must be \"1.2\" or \"1.3\" (nothing older is allowed), got \"" + *text + "\"");
}

// Only what can be checked without reading files; the certificate, the key and the cipher lists
// are checked when the TLS context is built (make_tls_context), at start and by --check-config.
void read_tls(const toml::table& table, const std::string& source, tls_config& tls) {
    table_reader reader(table, source, "tls");
    if (auto listen = reader.optional_string("listen")) {
        auto address = parse_listen_address(*listen, source, reader.full_key("listen"));
        tls.listen_host = std::move(address.host);
        tls.listen_port = address.port;
    }
    tls.cert_file = reader.required_string("cert_file");
    if (tls.cert_file.empty()) throw reader.error("cert_file", "must not be empty");
    tls.key_file = reader.required_string("key_file");
    if (tls.key_file.empty()) throw reader.error("key_file", "must not be empty");
    tls.min_version = read_tls_version(reader, tls.min_version);
    tls.ciphers = reader.string_or("ciphers", tls.ciphers);
    if (tls.ciphers.empty()) throw reader.error("ciphers", "must not be empty");
    tls.ciphersuites = reader.string_or("ciphersuites", tls.ciphersuites);
    if (tls.ciphersuites.empty()) throw reader.error("ciphersuites", "must not be empty");
    reader.finish();
}

// Something must listen, and the two listeners cannot share an address; `plain_key` names where
// the plain address came from (server.listen or SESHOOK_LISTEN).
void check_listeners(const config& cfg, std::string_view source, std::string_view plain_key) {
    if (!cfg.server.listen_plain && !cfg.tls) {
        throw key_error(source, "server.listen",
                        "may be empty only when a [tls] table is set, or nothing would listen");
    }
    // NOTE: port 0 lets the system choose a port for each, so two of them never collide.
    if (cfg.server.listen_plain && cfg.tls && cfg.tls->listen_port != 0 &&
        cfg.tls->listen_port == cfg.server.listen_port &&
        cfg.tls->listen_host == cfg.server.listen_host) {
        throw key_error(source, "tls.listen",
                        "is the same address as " + std::string(plain_key) +
                            "; give HTTPS a port of its own (Tencent accepts 8080, 8081 and 8082)");
    }

    // The metrics listener needs a port of its own too.
    const auto& metrics = cfg.metrics;
    if (!metrics.listen_separately || metrics.listen_port == 0) return;
    const auto same = [&](const std::string& host, std::uint16_t port) {
        return port == metrics.listen_port && host == metrics.listen_host;
    };
    if (cfg.server.listen_plain && same(cfg.server.listen_host, cfg.server.listen_port)) {
        throw key_error(source, "metrics.listen",
                        "is the same address as " + std::string(plain_key) +
                            "; give the metrics a port of their own");
    }
    if (cfg.tls && same(cfg.tls->listen_host, cfg.tls->listen_port)) {
        throw key_error(source, "metrics.listen",
                        "is the same address as tls.listen; give the metrics a port of their own");
    }
}

void read_log(const toml::table& table, const std::string& source, config& cfg) {
    table_reader reader(table, source, "log");
    cfg.log_level = reader.choice_or("level", cfg.log_level, log_levels);
    const std::string format =
        reader.choice_or("format", std::string(to_string(cfg.log_output_format)), {"text", "json"});
    cfg.log_output_format = format == "json" ? log_format::json : log_format::text;
    cfg.access_log = reader.boolean_or("access", cfg.access_log);
    reader.finish();
}

void read_schema(const toml::table& table, const std::string& source, schema_config& schema) {
    table_reader reader(table, source, "schema");
    const std::string mode = reader.choice_or(
        "mode", schema.mode == schema_mode::strict ? "strict" : "lenient", {"lenient", "strict"});
    schema.mode = mode == "strict" ? schema_mode::strict : schema_mode::lenient;
    schema.limits.max_depth = static_cast<std::size_t>(reader.integer_or(
        "max_depth", static_cast<std::int64_t>(schema.limits.max_depth), 1, 1000));
    schema.limits.max_batch = static_cast<std::size_t>(reader.integer_or(
        "max_batch", static_cast<std::int64_t>(schema.limits.max_batch), 1, 1'000'000));
    reader.finish();
}

void read_rejects(const toml::table& table, const std::string& source, config& cfg) {
    table_reader reader(table, source, "rejects");
    const std::string path = reader.string_or("path", cfg.rejects_path.string());
    if (path.empty()) throw reader.error("path", "must not be empty");
    cfg.rejects_path = path;
    reader.finish();
}

void read_spool(const toml::table& table, const std::string& source, spool_config& spool) {
    table_reader reader(table, source, "spool");
    const std::string mode = reader.choice_or(
        "durability", std::string(to_string(spool.durability)), {"fsync", "write", "memory"});
    spool.durability = mode == "memory"  ? durability_mode::memory
                       : mode == "write" ? durability_mode::write
                                         : durability_mode::fsync;
    const std::string path = reader.string_or("path", spool.path.string());
    if (path.empty()) throw reader.error("path", "must not be empty");
    spool.path = path;
    spool.max_bytes = static_cast<std::uint64_t>(reader.integer_or(
        "max_bytes", static_cast<std::int64_t>(spool.max_bytes), 4 * kib, 1024 * gib));
    spool.retry_after = reader.duration_or("retry_after", spool.retry_after);
    reader.finish();
}

void read_metrics(const toml::table& table, const std::string& source, metrics_config& metrics) {
    table_reader reader(table, source, "metrics");
    if (auto listen = reader.optional_string("listen")) {
        // NOTE: "" is the same as leaving the key out, so that an environment can blank it.
        metrics.listen_separately = !listen->empty();
        if (metrics.listen_separately) {
            auto address = parse_listen_address(*listen, source, reader.full_key("listen"));
            metrics.listen_host = std::move(address.host);
            metrics.listen_port = address.port;
        }
    }
    reader.finish();
}

void read_dedup(const toml::table& table, const std::string& source, dedup_config& dedup) {
    table_reader reader(table, source, "dedup");
    dedup.enabled = reader.boolean_or("enabled", dedup.enabled);
    dedup.window = reader.duration_or("window", dedup.window);
    reader.finish();
}

// A sink's name appears in logs, counters and the default dead-letter file name, so it is kept
// to characters that are safe in all three.
bool is_valid_sink_name(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
        if (!ok) return false;
    }
    return name != "." && name != "..";
}

// Lists the event names seshook knows, in the order of their eventids.
std::string known_events_text() {
    std::string text;
    for (std::int64_t id = 1; const auto type = event_type_from_id(id); ++id) {
        if (!text.empty()) text += ", ";
        text += to_string(*type);
    }
    return text;
}

// Reads the keys every sink has; the keys of its type are left for the sink's factory.
sink_config read_sink(const toml::table& table, const std::string& source, std::size_t index) {
    sink_config sink;
    sink.index = index;
    table_reader reader(table, source, "sinks[" + std::to_string(index) + "]");

    // Type and name.
    sink.type = reader.required_string("type");
    if (sink.type.empty()) throw reader.error("type", "must not be empty");
    sink.name = reader.required_string("name");
    if (!is_valid_sink_name(sink.name)) {
        throw reader.error(
            "name", "must be 1 to 64 letters, digits, '-', '_' or '.', got \"" + sink.name + "\"");
    }

    // The event filter: only names seshook knows, since a typo would silently match nothing.
    sink.events = reader.string_list_or("events", {});
    if (table.contains("events") && sink.events.empty()) {
        throw reader.error("events",
                           "must name at least one event; leave it out to take every event");
    }
    for (std::size_t i = 0; i < sink.events.size(); ++i) {
        if (!event_type_from_name(sink.events[i])) {
            throw key_error(source, reader.full_key("events") + "[" + std::to_string(i) + "]",
                            "unknown event \"" + sink.events[i] + "\"; known events are " +
                                known_events_text());
        }
    }

    sink.queue_capacity = static_cast<std::size_t>(reader.integer_or(
        "queue_capacity", static_cast<std::int64_t>(sink.queue_capacity), 1, 10'000'000));
    sink.options = std::make_shared<const toml::table>(table);
    return sink;
}

void read_sinks(const toml::node& node, const std::string& source, config& cfg) {
    // NOTE: toml++ does not count an empty array as an array of tables; `sinks = []` means none.
    const auto* array = node.as_array();
    if (array != nullptr && array->empty()) return;
    if (array == nullptr || !array->is_array_of_tables()) {
        throw key_error(source, "sinks", "expected an array of tables, written [[sinks]]");
    }

    std::map<std::string, std::size_t, std::less<>> names;
    for (std::size_t i = 0; i < array->size(); ++i) {
        sink_config sink = read_sink(*array->get(i)->as_table(), source, i);
        const auto [previous, inserted] = names.emplace(sink.name, i);
        if (!inserted) {
            throw key_error(source, "sinks[" + std::to_string(i) + "].name",
                            "\"" + sink.name + "\" is already the name of sinks[" +
                                std::to_string(previous->second) + "]");
        }
        cfg.sinks.push_back(std::move(sink));
    }
}

toml::table parse_toml(std::string_view text, const std::string& source) {
    try {
        return toml::parse(text, source);
    } catch (const toml::parse_error& e) {
        std::ostringstream message;
        message << source << ": line " << e.source().begin.line << ", column "
                << e.source().begin.column << ": ";

        throw config_error(message.str() + lowercase_first(e.description()));
    }
}

// Adds the tokens of SESHOOK_AUTH_TOKENS, separated by commas or whitespace.
void add_environment_tokens(std::string_view text, auth_config& auth) {
    constexpr std::string_view key = "environment: SESHOOK_AUTH_TOKENS: ";
    constexpr std::string_view separators = ", \t\r\n";
    std::size_t count = 0;
    for (auto begin = text.find_first_not_of(separators); begin != std::string_view::npos;
         begin = text.find_first_not_of(separators, begin)) {
        const auto end = std::min(text.size(), text.find_first_of(separators, begin));
        ++count;
        if (const auto problem = token_problem(text.substr(begin, end - begin))) {
            throw config_error(std::string(key) + "token " + std::to_string(count) + ": " +
                               *problem);
        }
        auth.tokens.add(text.substr(begin, end - begin));
        begin = end;
    }
    if (count == 0) throw config_error(std::string(key) + "holds no token");
}

}  // namespace

std::string_view to_string(durability_mode mode) noexcept {
    switch (mode) {
        case durability_mode::fsync:
            return "fsync";
        case durability_mode::write:
            return "write";
        case durability_mode::memory:
            return "memory";
    }
    return "unknown";
}

std::string_view to_string(tls_version version) noexcept {
    switch (version) {
        case tls_version::v1_2:
            return "1.2";
        case tls_version::v1_3:
            return "1.3";
    }
    return "unknown";
}

listen_address parse_listen_address(std::string_view text, std::string_view source,
                                    std::string_view key) {
    const auto fail = [&] {
        return key_error(source, key,
                         "expected an IP address and port such as \"127.0.0.1:8080\" or "
                         "\"[::1]:8080\", got \"" +
                             std::string(text) + "\"");
    };

    // Split at the last colon; an IPv6 address must be in brackets to tell its colons apart.
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) throw fail();
    std::string host(text.substr(0, colon));
    const std::string_view port_text = text.substr(colon + 1);
    bool v6 = false;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
        v6 = true;
    }
    if (v6 ? !is_ipv6(host) : !is_ipv4(host)) throw fail();

    // The port: digits only, at most 65535; 0 lets the system choose (tests).
    unsigned port = 0;
    const char* end = port_text.data() + port_text.size();
    const auto [stop, ec] = std::from_chars(port_text.data(), end, port);
    if (port_text.empty() || ec != std::errc{} || stop != end || port > 65535) throw fail();

    return {std::move(host), static_cast<std::uint16_t>(port)};
}

config parse_config(std::string_view toml_text, std::string source) {
    const toml::table root = parse_toml(toml_text, source);
    config cfg;
    cfg.source = source;

    // Refuse unknown top-level keys first: a misspelt table name would otherwise hide its keys.
    table_reader reader(root, source, "");
    for (const auto& [key, value] : root) {
        bool known = false;
        for (const auto name : top_level_keys) known = known || key.str() == name;
        if (!known) throw reader.error(key.str(), "unknown key");
    }

    // Then each section, whose own reader refuses its unknown keys.
    if (const auto* server = reader.optional_table("server")) {
        read_server(*server, source, cfg.server);
    }
    if (const auto* tls = reader.optional_table("tls")) read_tls(*tls, source, cfg.tls.emplace());
    if (const auto* log = reader.optional_table("log")) read_log(*log, source, cfg);
    if (const auto* auth = reader.optional_table("auth")) read_auth(*auth, source, cfg.auth);
    if (const auto* schema = reader.optional_table("schema")) {
        read_schema(*schema, source, cfg.schema);
    }
    if (const auto* rejects = reader.optional_table("rejects")) {
        read_rejects(*rejects, source, cfg);
    }
    if (const auto* spool = reader.optional_table("spool")) read_spool(*spool, source, cfg.spool);
    if (const auto* dedup = reader.optional_table("dedup")) read_dedup(*dedup, source, cfg.dedup);
    if (const auto* metrics = reader.optional_table("metrics")) {
        read_metrics(*metrics, source, cfg.metrics);
    }
    if (const auto* sinks = root.get("sinks")) read_sinks(*sinks, source, cfg);

    // NOTE: a body larger than the whole spool could never be stored: Tencent would get 503 and
    // retry it forever.
    if (cfg.spool.durability != durability_mode::memory &&
        cfg.spool.max_bytes < cfg.server.max_body_bytes) {
        throw key_error(source, "spool.max_bytes",
                        "must be at least server.max_body_bytes (" +
                            std::to_string(cfg.server.max_body_bytes) +
                            "), so that the largest body fits");
    }
    check_listeners(cfg, source, "server.listen");
    return cfg;
}

config load_config(const std::filesystem::path& path) {
    const std::string source = path.string();

    // Read the whole file, naming it when that fails.
    const auto cannot_read = [&](int error) {
        return config_error(
            source + ": cannot read: " + lowercase_first(std::generic_category().message(error)));
    };
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw config_error(source + ": cannot read: it is a directory");
    }
    std::ifstream file(path, std::ios::binary);
    if (!file) throw cannot_read(errno);
    const std::string text{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
    if (file.bad()) throw cannot_read(errno);
    config cfg = parse_config(text, source);

    // NOTE: without a sink, every event would be answered 200 and then go nowhere. Checked
    // here, not in parse_config(), whose callers may build the sinks themselves (tests).
    if (cfg.sinks.empty()) {
        throw key_error(source, "sinks",
                        "at least one [[sinks]] table is required, or accepted events would go "
                        "nowhere");
    }

    // The environment wins over the file, so that a container can move the port.
    // NOTE: an empty value counts as unset, as container tools write it for "no value".
    if (const char* listen = std::getenv("SESHOOK_LISTEN"); listen != nullptr && *listen != 0) {
        auto address = parse_listen_address(listen, "environment", "SESHOOK_LISTEN");
        cfg.server.listen_plain = true;
        cfg.server.listen_host = std::move(address.host);
        cfg.server.listen_port = address.port;
        check_listeners(cfg, source, "SESHOOK_LISTEN");
    }

    // Tokens from the environment add to those of the file, so that a secret store can hand
    // them over without writing them to disk.
    if (const char* tokens = std::getenv("SESHOOK_AUTH_TOKENS");
        tokens != nullptr && *tokens != 0) {
        add_environment_tokens(tokens, cfg.auth);
    }
    return cfg;
}

}  // namespace seshook
