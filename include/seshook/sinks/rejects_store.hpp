#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>

#include "seshook/support/jsonl_appender.hpp"

namespace seshook {

/// The rejects file: every body seshook refused or could not deliver, kept as one JSON line with
/// the time, the peer, the reason code and detail, and the raw body, so an operator can inspect
/// and replay it. Bodies that are not valid UTF-8 are kept base64-encoded in "bodyBase64"; so is a
/// body kept as it was sent under a Content-Encoding, which "contentEncoding" then names.
class rejects_store {
public:
    explicit rejects_store(std::filesystem::path path);

    /// Opens the file and starts its writer; throws on failure.
    void start();

    /// Keeps one refused body. Never blocks on the disk unless a large backlog built up.
    /// `content_encoding`, when not empty, says the body is still encoded as the request's
    /// Content-Encoding said (it could not be decoded).
    void keep(std::string_view reason, std::string_view detail, std::string_view peer,
              std::string_view body, std::string_view content_encoding = {});

    void reopen();
    void stop();

    /// Returns how many bodies were kept since start.
    std::size_t kept() const;

    const std::filesystem::path& path() const noexcept { return appender_.path(); }

private:
    jsonl_appender appender_;
};

}  // namespace seshook
