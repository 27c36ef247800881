#pragma once

// Shared pieces of the end-to-end tests: a fixture that owns the daemon under test and prints
// its log when a test fails, and builders of realistic event bodies.

#include <cstddef>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "seshook/event/event_id.hpp"
#include "support/daemon_process.hpp"
#include "support/raw_http.hpp"
#include "support/temp_dir.hpp"

namespace seshook::testing {

/// Runs one daemon per test; its output is printed when the test fails.
class daemon_test : public ::testing::Test {
protected:
    /// Starts the daemon of this test.
    daemon_process& start_daemon(daemon_options options = {}) {
        daemon_ = std::make_unique<daemon_process>(std::move(options));
        return *daemon_;
    }

    void TearDown() override {
        if (HasFailure() && daemon_) {
            std::cerr << "---- seshook output (" << daemon_->dir().string() << ") ----\n"
                      << daemon_->log_text() << "---- end of seshook output ----\n";
        }
    }

    std::unique_ptr<daemon_process> daemon_;
};

/// Returns options whose [server] table holds the extra lines `toml`.
inline daemon_options with_server(std::string toml) {
    daemon_options options;
    options.server_toml = std::move(toml);
    return options;
}

/// Returns options whose [schema] table holds the lines `toml`.
inline daemon_options with_schema(std::string toml) {
    daemon_options options;
    options.schema_toml = std::move(toml);
    return options;
}

/// Returns options with the extra [[sinks]] tables `toml`.
inline daemon_options with_sinks(std::string toml) {
    daemon_options options;
    options.sinks_toml = std::move(toml);
    return options;
}

/// Returns the source tree (SESHOOK_SOURCE_DIR).
inline std::filesystem::path source_dir() { return required_env("SESHOOK_SOURCE_DIR"); }

/// Returns the body of a valid `delivered` event for recipient number `n`, whose identity
/// differs from that of every other `n`.
inline std::string sample_event(std::size_t n) {
    return nlohmann::ordered_json{
        {"event", "delivered"},
        {"email", "user" + std::to_string(n) + "@example.com"},
        {"bulkId", "qcloudses-30-251200670-date-20240601142439-8jolHvR2XcXC1"},
        {"timestamp", 1717251879 + static_cast<long long>(n)},
        {"reason", "250 2.0.0 Ok: queued"},
        {"bounceType", ""},
    }
        .dump();
}

/// Returns the id seshook should give the event `payload`, from its identity fields (SPEC.md).
inline std::string expected_id(const nlohmann::json& payload) {
    const auto text = [&](const char* key) {
        return payload.contains(key) ? payload[key].get<std::string>() : std::string();
    };
    std::string timestamp;
    if (payload.contains("timestamp")) {
        const auto& value = payload["timestamp"];
        timestamp = value.is_string() ? value.get<std::string>() : value.dump();
    }
    const std::string bulk_id = text("bulkId");
    const std::string email = text("email");
    const std::string event = text("event");
    const std::string link = text("link");
    return make_event_id({bulk_id, email, event, timestamp, link});
}

/// Returns true for an RFC 3339 UTC time with milliseconds, "2025-03-14T09:30:12.345Z".
inline bool is_rfc3339_utc_ms(std::string_view text) {
    constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (text.size() != shape.size()) return false;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        const bool ok = shape[i] == 'd' ? text[i] >= '0' && text[i] <= '9' : text[i] == shape[i];
        if (!ok) return false;
    }
    return true;
}

/// Parses a response body as JSON; a body that is not JSON gives a `discarded` value.
inline nlohmann::json json_body(const raw_response& response) {
    return nlohmann::json::parse(response.body, nullptr, false);
}

}  // namespace seshook::testing
