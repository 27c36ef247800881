#include "seshook/sinks/forward_sink.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <utility>

#include "seshook/support/printable.hpp"
#include "seshook/support/time_format.hpp"

namespace seshook {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](unsigned char x, unsigned char y) {
        return std::tolower(x) == std::tolower(y);
    });
}

// Returns true when `name` is an HTTP header name (an RFC 9110 token).
bool is_header_name(std::string_view name) {
    constexpr std::string_view punctuation = "!#$%&'*+-.^_`|~";
    if (name.empty()) return false;
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || punctuation.find(c) != std::string_view::npos;
        if (!ok) return false;
    }
    return true;
}

constexpr std::string_view id_header = "X-Seshook-Id";
constexpr std::string_view event_header = "X-Seshook-Event";

// The headers the sink sets itself, and those that would change the framing of the request.
constexpr std::array<std::string_view, 5> own_headers{
    id_header, event_header, webhook_signer::id_header, webhook_signer::timestamp_header,
    webhook_signer::signature_header};
constexpr std::array<std::string_view, 4> framing_headers{"Host", "Content-Length",
                                                          "Transfer-Encoding", "Connection"};

bool is_one_of(std::string_view name, const auto& names) {
    return std::any_of(names.begin(), names.end(),
                       [&](std::string_view word) { return iequals(name, word); });
}

// Checks the extra headers: well formed, and none that seshook sets itself or that would
// change the framing of the request.
void check_headers(const std::map<std::string, std::string>& headers, table_reader& reader) {
    const std::string key = reader.full_key("headers");
    for (const auto& [name, value] : headers) {
        if (!is_header_name(name)) {
            throw config_error(reader.source() + ": " + key + ": \"" + name +
                               "\" is not a valid header name");
        }
        if (is_one_of(name, own_headers) || is_one_of(name, framing_headers)) {
            throw config_error(reader.source() + ": " + key + "." + name +
                               ": is set by seshook and cannot be configured");
        }
        for (const char c : value) {
            const auto byte = static_cast<unsigned char>(c);
            if ((byte < 0x20 && c != '\t') || byte == 0x7f) {
                throw config_error(reader.source() + ": " + key + "." + name +
                                   ": must not contain control characters such as line breaks");
            }
        }
    }
}

// Files named in the config hold a secret or a few certificates; a larger one is a mistake
// (a log, a device) that must not be read whole.
constexpr std::uintmax_t max_config_file_bytes = 4 * 1024 * 1024;

// Reads the file that `key` names, whole; a config error names the key, the path and why.
std::string read_named_file(const std::string& path, std::string_view key, table_reader& reader) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw reader.error(key, "cannot read " + path + ": it is a folder");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw reader.error(key, "cannot read " + path + ": " + std::strerror(errno));
    }
    std::string text;
    std::array<char, 8192> chunk{};
    while (in.read(chunk.data(), chunk.size()) || in.gcount() > 0) {
        text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
        if (text.size() > max_config_file_bytes) {
            throw reader.error(key, "cannot read " + path + ": it is larger than 4 MiB");
        }
    }
    if (in.bad()) {
        throw reader.error(key, "cannot read " + path + ": " + std::strerror(errno));
    }
    return text;
}

std::string_view trimmed(std::string_view text) {
    constexpr std::string_view space = " \t\r\n";
    const auto first = text.find_first_not_of(space);
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(space) - first + 1);
}

// Reads signing_secret, or the file signing_secret_file names (surrounding whitespace such as
// a final line break ignored); "" when neither is set. The messages never show the secret.
std::string read_signing_secret(table_reader& reader) {
    const auto inline_secret = reader.optional_string("signing_secret");
    const auto file = reader.optional_string("signing_secret_file");
    if (inline_secret && file) {
        throw reader.error("signing_secret_file", "cannot be set together with signing_secret");
    }
    if (!inline_secret && !file) {
        return {};
    }
    const std::string secret =
        file ? std::string(trimmed(read_named_file(*file, "signing_secret_file", reader)))
             : *inline_secret;
    if (const auto signer = webhook_signer::from_secret(secret); !signer) {
        const auto problem = to_string(signer.error());
        if (file) {
            throw reader.error("signing_secret_file",
                               "the secret in " + *file + " " + std::string(problem));
        }
        throw reader.error("signing_secret", problem);
    }
    return secret;
}

// Reads the CA bundle that ca_file names into `options`, refusing one that holds no usable
// certificate or that nothing would use.
void read_ca_file(forward_options& options, table_reader& reader) {
    const auto path = reader.optional_string("ca_file");
    if (!path) return;
    if (!options.verify_tls) {
        throw reader.error("ca_file", "has no effect with verify_tls = false");
    }
    if (!http_url::parse(options.url).value_or(http_url{}).tls) {
        throw reader.error("ca_file", "has no effect on an http:// url");
    }
    options.ca_pem = read_named_file(*path, "ca_file", reader);
    if (const auto problem = ca_bundle_problem(options.ca_pem); !problem.empty()) {
        throw reader.error("ca_file", *path + " " + problem);
    }
    options.ca_file = *path;
}

// The event name comes from the payload, so bytes that a header may not carry (controls,
// non-ASCII) are percent-encoded rather than forwarded.
std::string header_safe(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (const unsigned char c : text) {
        if (c < 0x20 || c >= 0x7f) {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0x0f];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

// Full jitter: a uniform wait between zero and the exponential step, so that many senders
// that failed together do not come back together.
std::chrono::milliseconds backoff_delay(const forward_options& options, unsigned retry) {
    using std::chrono::milliseconds;
    const auto initial = std::max(options.backoff_initial, milliseconds(0));
    const auto cap = std::max(options.backoff_max, milliseconds(0));
    auto step = initial;
    for (unsigned i = 0; i < retry && step < cap; ++i) {
        step *= 2;
    }
    step = std::min(step, cap);

    thread_local std::mt19937_64 random{std::random_device{}()};
    std::uniform_int_distribution<milliseconds::rep> pick(0, step.count());
    return milliseconds(pick(random));
}

// Waits `delay` unless `stop` is requested first; returns false when it was.
bool wait_unless_stopped(std::chrono::milliseconds delay, const std::stop_token& stop) {
    std::mutex mutex;
    std::condition_variable_any wake;
    std::unique_lock lock(mutex);
    wake.wait_for(lock, stop, delay, [] { return false; });
    return !stop.stop_requested();
}

// The downstream's words go to the log escaped and cut to this length; the dead-letter file
// keeps them whole.
constexpr std::size_t logged_error_bytes = 200;

std::string describe(const http_exchange& exchange) {
    if (!exchange.transport_ok) {
        return exchange.error;
    }
    std::string text = "status " + std::to_string(exchange.status);
    if (!exchange.body.empty()) {
        text += ": " + exchange.body;
    }
    return text;
}

}  // namespace

forward_sink::forward_sink(std::string name, std::vector<std::string> events,
                           forward_options options)
    : sink("forward", std::move(name), std::move(events)),
      options_(std::move(options)),
      dead_letters_(options_.dead_letter_path, "sink:" + this->name()) {
    auto url = http_url::parse(options_.url);
    if (!url) {
        throw std::invalid_argument("forward sink " + this->name() + ": url '" + options_.url +
                                    "' is not an http:// or https:// URL");
    }
    url_ = std::move(*url);
    if (options_.max_attempts == 0) {
        options_.max_attempts = 1;
    }

    // The sink sets its own headers; a configured one of the same name would send both.
    std::erase_if(options_.headers,
                  [](const auto& header) { return is_one_of(header.first, own_headers); });

    // A malformed secret is refused here as from_config refuses it, without showing it.
    if (!options_.signing_secret.empty()) {
        auto signer = webhook_signer::from_secret(options_.signing_secret);
        if (!signer) {
            throw std::invalid_argument("forward sink " + this->name() + ": signing_secret " +
                                        std::string(to_string(signer.error())));
        }
        signer_ = std::move(*signer);
    }
}

forward_sink::~forward_sink() = default;

void forward_sink::do_open() {
    // Say how the downstream is checked and what it can check; an unchecked certificate is
    // worth a warning at every start.
    if (!options_.verify_tls) {
        spdlog::warn(
            "[sink:{}] verify_tls = false: the certificate of {} is not checked, so anyone on the "
            "network path can pose as it and read or change the events sent to it",
            name(), url_.host);
    } else if (url_.tls && !options_.ca_pem.empty()) {
        spdlog::info(
            "[sink:{}] trusting only the certificate authorities in {}", name(),
            options_.ca_file.empty() ? "the bundle it was given" : options_.ca_file.string());
    }
    if (signer_) {
        spdlog::info("[sink:{}] signing every request the Standard Webhooks way", name());
    }

    client_ =
        std::make_unique<http_client>(url_, tls_verification{options_.verify_tls, options_.ca_pem});
    dead_letters_.start();
}

delivery_outcome forward_sink::do_consume(const record& r, std::stop_token stop) {
    if (!client_) {
        throw std::logic_error("the sink was not opened");
    }
    auto headers = options_.headers;
    const auto id = header_safe(r.event.id);
    headers.emplace(id_header, id);
    headers.emplace(event_header, header_safe(r.event.event));

    std::string last_error = "stopped before the first attempt";
    for (unsigned attempt = 1;; ++attempt) {
        // Sign this attempt: the same id as every other attempt, and the time of this one.
        if (signer_) {
            sign_attempt(headers, id, r.event.raw);
        }

        // Send the original bytes.
        // NOTE: an event cut short by shutdown is not dead-lettered: the spool (or, without
        // one, the rejects file) keeps it, and the next start delivers it.
        if (stop.stop_requested()) return delivery_outcome::interrupted;
        const auto exchange = client_->post(r.event.raw, headers, options_.timeout, stop);
        if (exchange.transport_ok && exchange.status >= 200 && exchange.status < 300) {
            return delivery_outcome::delivered;
        }
        last_error = describe(exchange);

        // Give up at once on an answer that a retry will not change (4xx other than 429).
        const bool retryable =
            !exchange.transport_ok || exchange.status >= 500 || exchange.status == 429;
        if (!retryable || attempt >= options_.max_attempts) {
            return dead_letter(r, attempt, last_error);
        }

        // Wait before the next attempt; shutdown cuts the wait short.
        const auto delay = backoff_delay(options_, attempt - 1);
        spdlog::warn("[sink:{}] attempt {}/{} for event {} failed: {}; retrying in {}ms", name(),
                     attempt, options_.max_attempts, r.event.id,
                     printable(last_error, logged_error_bytes), delay.count());
        if (!wait_unless_stopped(delay, stop)) return delivery_outcome::interrupted;
        count_retry();
    }
}

void forward_sink::sign_attempt(std::map<std::string, std::string>& headers, const std::string& id,
                                std::string_view body) const {
    // NOTE: the id is an event id, 32 hex digits, and the timestamp is digits: neither holds
    // the '.' that separates them in the signed text.
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    headers[std::string(webhook_signer::id_header)] = id;
    headers[std::string(webhook_signer::timestamp_header)] = std::to_string(now);
    headers[std::string(webhook_signer::signature_header)] = signer_->sign(id, now, body);
}

void forward_sink::do_flush(bool sync) {
    // A dead-lettered event counts as taken only once its line is in the file.
    if (!dead_letters_.drain(sync)) {
        throw std::runtime_error("the dead-letter file " + dead_letters_.path().string() +
                                 " is not written yet");
    }
}

void forward_sink::do_reopen() { dead_letters_.reopen(); }

void forward_sink::do_close() {
    if (client_) {
        client_->disconnect();
    }
    dead_letters_.stop();
}

delivery_outcome forward_sink::dead_letter(const record& r, unsigned attempts,
                                           const std::string& error) {
    report_error("event " + r.event.id + " dead-lettered after " + std::to_string(attempts) +
                 " attempt(s): " + printable(error, logged_error_bytes));

    // NOTE: the record goes in as the JSON object that to_json_line() writes, spliced in as
    // text so that the payload keeps its exact bytes (numbers, key order, escapes).
    const nlohmann::json head = {
        {"time", format_rfc3339_ms(std::chrono::system_clock::now())},
        {"sink", name()},
        {"id", r.event.id},
        {"event", r.event.event},
        {"attempts", attempts},
        {"error", error},
    };
    auto line = head.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line.pop_back();
    line += R"(,"record":)";
    line += r.to_json_line();
    line += '}';
    dead_letters_.append(std::move(line));
    return delivery_outcome::dead_lettered;
}

std::unique_ptr<sink> forward_sink::from_config(const sink_config& common, table_reader& reader) {
    forward_options options;

    // NOTE: the messages never repeat the URL or header values: they often hold credentials.
    options.url = reader.required_string("url");
    if (!http_url::parse(options.url)) {
        throw reader.error("url", "expected an absolute http:// or https:// URL");
    }
    options.headers = reader.string_map_or("headers", {});
    check_headers(options.headers, reader);

    // Timing of each attempt and of the retries.
    options.timeout = reader.duration_or("timeout", options.timeout);
    options.max_attempts =
        static_cast<unsigned>(reader.integer_or("max_attempts", options.max_attempts, 1, 100));
    options.backoff_initial = reader.duration_or("backoff_initial", options.backoff_initial);
    options.backoff_max = reader.duration_or("backoff_max", options.backoff_max);
    if (options.backoff_max < options.backoff_initial) {
        throw reader.error("backoff_max", "must not be shorter than backoff_initial");
    }

    // Where events that exhaust their attempts are kept; by default one file per sink.
    options.dead_letter_path =
        reader.string_or("dead_letter_path", "var/dead-letter-" + common.name + ".jsonl");
    if (options.dead_letter_path.empty()) {
        throw reader.error("dead_letter_path", "must not be empty");
    }

    // How the downstream's certificate is checked, and how the downstream can check seshook.
    options.verify_tls = reader.boolean_or("verify_tls", options.verify_tls);
    read_ca_file(options, reader);
    options.signing_secret = read_signing_secret(reader);
    return std::make_unique<forward_sink>(common.name, common.events, std::move(options));
}

}  // namespace seshook
