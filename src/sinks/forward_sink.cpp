#include "seshook/sinks/forward_sink.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <condition_variable>
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

// Checks the extra headers: well formed, and none that seshook sets itself or that would
// change the framing of the request.
void check_headers(const std::map<std::string, std::string>& headers, table_reader& reader) {
    constexpr std::array<std::string_view, 6> reserved{
        "Host",       "Content-Length", "Transfer-Encoding",
        "Connection", "X-Seshook-Id",   "X-Seshook-Event"};
    const std::string key = reader.full_key("headers");
    for (const auto& [name, value] : headers) {
        if (!is_header_name(name)) {
            throw config_error(reader.source() + ": " + key + ": \"" + name +
                               "\" is not a valid header name");
        }
        for (const auto word : reserved) {
            if (iequals(name, word)) {
                throw config_error(reader.source() + ": " + key + "." + name +
                                   ": is set by seshook and cannot be configured");
            }
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

constexpr std::string_view id_header = "X-Seshook-Id";
constexpr std::string_view event_header = "X-Seshook-Event";

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
    std::erase_if(options_.headers, [](const auto& header) {
        return iequals(header.first, id_header) || iequals(header.first, event_header);
    });
}

forward_sink::~forward_sink() = default;

void forward_sink::do_open() {
    client_ = std::make_unique<http_client>(url_, options_.verify_tls);
    dead_letters_.start();
}

delivery_outcome forward_sink::do_consume(const record& r, std::stop_token stop) {
    if (!client_) {
        throw std::logic_error("the sink was not opened");
    }
    auto headers = options_.headers;
    headers.emplace(id_header, header_safe(r.event.id));
    headers.emplace(event_header, header_safe(r.event.event));

    std::string last_error = "stopped before the first attempt";
    for (unsigned attempt = 1;; ++attempt) {
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
    }
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
    options.verify_tls = reader.boolean_or("verify_tls", options.verify_tls);
    return std::make_unique<forward_sink>(common.name, common.events, std::move(options));
}

}  // namespace seshook
