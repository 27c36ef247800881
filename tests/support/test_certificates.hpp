#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace seshook::testing {

/// A certificate (or a chain, leaf first) and its private key in PEM.
struct tls_identity {
    std::string certificate_pem;
    std::string private_key_pem;

    /// Creates a self-signed certificate valid for `names` (DNS names or IP addresses).
    static tls_identity self_signed(const std::vector<std::string>& names);

    /// Writes the chain to `cert_file` and the key to `key_file`, the key readable by its
    /// owner only, as an operator would keep it.
    void write(const std::filesystem::path& cert_file, const std::filesystem::path& key_file) const;
};

/// A private certificate authority made for one test, shaped like a public one: a root that
/// clients trust, and an intermediate that signs the server certificates. Keys are made fresh
/// in memory; nothing key-like is kept in the source tree.
class test_certificate_authority {
public:
    test_certificate_authority();
    ~test_certificate_authority();
    test_certificate_authority(const test_certificate_authority&) = delete;
    test_certificate_authority& operator=(const test_certificate_authority&) = delete;

    /// Returns the root certificate in PEM, for a client to trust.
    const std::string& root_pem() const noexcept;

    /// Issues a server certificate for `names` (DNS names or IP addresses; the first is also
    /// the common name) with the serial number `serial`. Its certificate_pem holds the leaf,
    /// then the intermediate that signed it.
    tls_identity issue(const std::vector<std::string>& names, std::uint64_t serial) const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace seshook::testing
