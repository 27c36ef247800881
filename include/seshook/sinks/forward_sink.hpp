#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "seshook/config/config.hpp"
#include "seshook/config/table_reader.hpp"
#include "seshook/sinks/http_client.hpp"
#include "seshook/sinks/sink.hpp"
#include "seshook/sinks/webhook_signer.hpp"
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
    std::string ca_pem;             // authorities trusted instead of the system's; "": the system's
    std::filesystem::path ca_file;  // where ca_pem was read from, for the log
    std::string signing_secret;     // "whsec_..." to sign each request; "": not signed
};

/// POSTs each event's original bytes to a downstream URL with X-Seshook-Id and X-Seshook-Event,
/// retrying network errors, 5xx and 429 with exponential backoff and full jitter. An event that
/// exhausts its attempts (or any event on a 4xx other than 429) is written to the dead-letter
/// file with the last error. With a signing secret, each attempt also carries the Standard
/// Webhooks headers: webhook-id (the event id, the same for every attempt), webhook-timestamp
/// (the attempt's time) and webhook-signature.
class forward_sink final : public sink {
public:
    forward_sink(std::string name, std::vector<std::string> events, forward_options options);
    ~forward_sink() override;

    /// Builds a forward sink from its [[sinks]] table: url, headers, timeout, max_attempts,
    /// backoff_initial, backoff_max, dead_letter_path, verify_tls, ca_file, signing_secret or
    /// signing_secret_file. Reads the files it names, and opens nothing.
    static std::unique_ptr<sink> from_config(const sink_config& common, table_reader& reader);

protected:
    void do_open() override;
    delivery_outcome do_consume(const record& r, std::stop_token stop) override;
    void do_reopen() override;
    void do_flush(bool sync) override;
    void do_close() override;

private:
    delivery_outcome dead_letter(const record& r, unsigned attempts, const std::string& error);

    /// Sets the timestamp and signature headers of one attempt at sending `body` as `id`.
    void sign_attempt(std::map<std::string, std::string>& headers, const std::string& id,
                      std::string_view body) const;

    forward_options options_;
    http_url url_;
    std::optional<webhook_signer> signer_;
    std::unique_ptr<http_client> client_;
    jsonl_appender dead_letters_;
};

}  // namespace seshook
