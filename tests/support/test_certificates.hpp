#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace seshook::testing {

/// A certificate (or a chain, leaf first) and its private key in PEM. Keys are made fresh in
/// memory at test time; nothing key-like is kept in the source tree.
struct tls_identity {
    std::string certificate_pem;
    std::string private_key_pem;

    /// Creates a self-signed certificate valid for `names` (DNS names or IP addresses).
    static tls_identity self_signed(const std::vector<std::string>& names);

    /// Writes the certificate to `cert_file` and the key to `key_file`, the key readable by
    /// its owner only, as an operator would keep it.
    void write(const std::filesystem::path& cert_file, const std::filesystem::path& key_file) const;
};

/// A private certificate authority, as a company runs for its internal services: its own
/// certificate (the one a client must be told to trust) and the key it signs with.
struct tls_authority {
    std::string certificate_pem;
    std::string private_key_pem;

    /// Creates an authority with a fresh key and a self-signed CA certificate called `name`.
    static tls_authority create(const std::string& name = "seshook test CA");

    /// Issues a server certificate valid for `names` (DNS names or IP addresses), signed by
    /// this authority; the identity presents the certificate alone, without the authority's.
    tls_identity issue(const std::vector<std::string>& names) const;

    /// Issues one as above with the serial number `serial`, so that a test can tell which
    /// certificate a server presented.
    tls_identity issue(const std::vector<std::string>& names, long serial) const;

    /// Issues an intermediate authority called `name`, signed by this one, as public
    /// authorities sign server certificates with an intermediate rather than with their root.
    tls_authority issue_authority(const std::string& name) const;
};

}  // namespace seshook::testing
