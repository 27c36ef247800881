#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace seshook {

/// Why a Standard Webhooks signing secret was refused; `to_string` says it in words that never
/// repeat the secret.
enum class signing_secret_error {
    missing_prefix,  // does not start with "whsec_"
    not_base64,      // what follows the prefix is not standard base64
    too_short,       // the key has fewer than 24 bytes
    too_long,        // the key has more than 64 bytes
};

/// Returns what is wrong with the secret, e.g. "must decode to at least 24 bytes".
std::string_view to_string(signing_secret_error error) noexcept;

/// Lets boost::system::result::value() throw when it holds an error.
[[noreturn]] void throw_exception_from_error(signing_secret_error error,
                                             const boost::source_location& location);

/// Signs requests the way Standard Webhooks (https://www.standardwebhooks.com) defines for
/// symmetric keys: an HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>", sent as
/// "v1,<base64>" in the webhook-signature header.
class webhook_signer {
public:
    /// The name of each header the scheme sends, as the specification writes them.
    static constexpr std::string_view id_header = "webhook-id";
    static constexpr std::string_view timestamp_header = "webhook-timestamp";
    static constexpr std::string_view signature_header = "webhook-signature";

    /// Decodes a secret written as the specification serializes it: "whsec_" followed by the
    /// base64 (padded or not) of a key of 24 to 64 bytes.
    static boost::system::result<webhook_signer, signing_secret_error> from_secret(
        std::string_view secret);

    /// Returns the webhook-signature value of one attempt: "v1," followed by the base64 of
    /// HMAC-SHA256(key, id + "." + timestamp + "." + body), `timestamp` in Unix seconds. The
    /// id must not contain a '.', or the signed text could be split elsewhere.
    std::string sign(std::string_view id, std::int64_t timestamp, std::string_view body) const;

private:
    explicit webhook_signer(std::vector<unsigned char> key) : key_(std::move(key)) {}

    std::vector<unsigned char> key_;
};

}  // namespace seshook
