#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "seshook/config/config.hpp"
#include "seshook/config/table_reader.hpp"
#include "seshook/sinks/http_client.hpp"
#include "seshook/sinks/sink.hpp"
#include "seshook/support/jsonl_appender.hpp"

namespace seshook {

/// Settings of a forward sink, read from its `[[sinks]]` table.
struct forward_options {
    std::string url;
    std::map<std::string, std::string> headers;
    std::chrono::milliseconds timeout{5'000};
    unsigned max_attempts = 5;
    std::chrono::milliseconds backoff_initial{500};
    std::chrono::milliseconds backoff_max{30'000};
    std::filesystem::path dead_letter_path = "var/dead-letter.jsonl";
    bool verify_tls = true;
};

/// POSTs each event's original bytes to a downstream URL with X-Seshook-Id and X-Seshook-Event,
/// retrying network errors, 5xx and 429 with exponential backoff and full jitter. An event that
/// exhausts its attempts (or any event on a 4xx other than 429) is written to the dead-letter
/// file with the last error.
class forward_sink final : public sink {
public:
    forward_sink(std::string name, std::vector<std::string> events, forward_options options);
    ~forward_sink() override;

    /// Builds a forward sink from its [[sinks]] table: url, headers, timeout, max_attempts,
    /// backoff_initial, backoff_max, dead_letter_path, verify_tls. Opens nothing.
    static std::unique_ptr<sink> from_config(const sink_config& common, table_reader& reader);

protected:
    void do_open() override;
    delivery_outcome do_consume(const record& r, std::stop_token stop) override;
    void do_reopen() override;
    void do_flush(bool sync) override;
    void do_close() override;

private:
    delivery_outcome dead_letter(const record& r, unsigned attempts, const std::string& error);

    forward_options options_;
    http_url url_;
    std::unique_ptr<http_client> client_;
    jsonl_appender dead_letters_;
};

}  // namespace seshook
