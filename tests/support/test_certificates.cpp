#include "support/test_certificates.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string_view>

namespace seshook::testing {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("test_certificates: " + what);
}

template <class T, void (*Free)(T*)>
struct openssl_deleter {
    void operator()(T* p) const noexcept { Free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, openssl_deleter<X509, X509_free>>;
using bio_ptr = std::unique_ptr<BIO, openssl_deleter<BIO, BIO_free_all>>;
using extension_ptr =
    std::unique_ptr<X509_EXTENSION, openssl_deleter<X509_EXTENSION, X509_EXTENSION_free>>;

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(size));
}

void add_extension(X509* cert, int nid, const std::string& value) {
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
    extension_ptr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str()));
    if (!extension || X509_add_ext(cert, extension.get(), -1) != 1) {
        fail("cannot add extension " + value);
    }
}

// The PEM text of what a memory BIO holds after `write` filled it.
template <class Write>
std::string pem_text(Write write, std::string_view what) {
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!bio || write(bio.get()) != 1) {
        fail("cannot write the " + std::string(what));
    }
    return bio_text(bio.get());
}

std::string pem_of(X509* cert) {
    return pem_text([&](BIO* bio) { return PEM_write_bio_X509(bio, cert); }, "certificate");
}

std::string pem_of(EVP_PKEY* key) {
    return pem_text(
        [&](BIO* bio) {
            return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
        },
        "private key");
}

template <class T, void (*Free)(T*), class Read>
std::unique_ptr<T, openssl_deleter<T, Free>> from_pem(const std::string& pem, Read read) {
    bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    std::unique_ptr<T, openssl_deleter<T, Free>> object(
        bio ? read(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!object) {
        fail("cannot read a PEM certificate or key");
    }
    return object;
}

// What a certificate is for.
enum class certificate_role {
    authority,    // signs other certificates only
    server,       // presented by a server, signed by an authority
    self_signed,  // presented by a server and trusted as it is, like an authority
};

// What a new certificate says about itself.
struct certificate_request {
    std::string common_name;
    std::vector<std::string> names;  // subjectAltName entries, DNS names or IP addresses
    certificate_role role = certificate_role::server;
    long serial = 1;
};

// Makes a certificate for `key`, valid from a minute ago for a day, signed by the issuer's
// key (the certificate signs itself when `issuer` is null).
x509_ptr make_certificate(const certificate_request& request, EVP_PKEY* key, X509* issuer,
                          EVP_PKEY* issuer_key) {
    x509_ptr cert(X509_new());
    if (!cert) {
        fail("cannot create a certificate");
    }
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), request.serial);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
    X509_set_pubkey(cert.get(), key);

    // Subject, and issuer: the authority's subject, or the subject itself.
    X509_NAME* subject = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(request.common_name.c_str()),
                               -1, -1, 0);
    X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : subject);

    // Names as subjectAltName entries, the only place clients look for them.
    std::string alt_names;
    for (const auto& name : request.names) {
        error_code ec;
        asio::ip::make_address(name, ec);
        alt_names += (alt_names.empty() ? "" : ",") + std::string(ec ? "DNS:" : "IP:") + name;
    }
    if (!alt_names.empty()) {
        add_extension(cert.get(), NID_subject_alt_name, alt_names);
    }
    switch (request.role) {
        case certificate_role::authority:
            add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
            add_extension(cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
            break;
        case certificate_role::server:
            add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
            add_extension(cert.get(), NID_ext_key_usage, "serverAuth");
            break;
        case certificate_role::self_signed:
            add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
            break;
    }
    if (X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) == 0) {
        fail("cannot sign the certificate");
    }
    return cert;
}

pkey_ptr new_key() {
    pkey_ptr key(EVP_EC_gen("P-256"));
    if (!key) {
        fail("cannot create a key");
    }
    return key;
}

void write_text(const std::filesystem::path& path, std::string_view text) {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!file.flush()) {
        fail("cannot write " + path.string());
    }
}

}  // namespace

tls_identity tls_identity::self_signed(const std::vector<std::string>& names) {
    if (names.empty()) {
        fail("a certificate needs at least one name");
    }
    const auto key = new_key();
    const auto cert = make_certificate({names.front(), names, certificate_role::self_signed},
                                       key.get(), nullptr, nullptr);
    return {pem_of(cert.get()), pem_of(key.get())};
}

tls_authority tls_authority::create(const std::string& name) {
    const auto key = new_key();
    const auto cert =
        make_certificate({name, {}, certificate_role::authority}, key.get(), nullptr, nullptr);
    return {pem_of(cert.get()), pem_of(key.get())};
}

tls_identity tls_authority::issue(const std::vector<std::string>& names) const {
    static std::atomic<long> serial{1};
    return issue(names, ++serial);
}

tls_identity tls_authority::issue(const std::vector<std::string>& names, long serial) const {
    if (names.empty()) {
        fail("a certificate needs at least one name");
    }
    const auto issuer = from_pem<X509, X509_free>(certificate_pem, PEM_read_bio_X509);
    const auto issuer_key =
        from_pem<EVP_PKEY, EVP_PKEY_free>(private_key_pem, PEM_read_bio_PrivateKey);
    const auto key = new_key();
    const auto cert = make_certificate({names.front(), names, certificate_role::server, serial},
                                       key.get(), issuer.get(), issuer_key.get());
    return {pem_of(cert.get()), pem_of(key.get())};
}

tls_authority tls_authority::issue_authority(const std::string& name) const {
    const auto issuer = from_pem<X509, X509_free>(certificate_pem, PEM_read_bio_X509);
    const auto issuer_key =
        from_pem<EVP_PKEY, EVP_PKEY_free>(private_key_pem, PEM_read_bio_PrivateKey);
    const auto key = new_key();
    const auto cert = make_certificate({name, {}, certificate_role::authority}, key.get(),
                                       issuer.get(), issuer_key.get());
    return {pem_of(cert.get()), pem_of(key.get())};
}

void tls_identity::write(const std::filesystem::path& cert_file,
                         const std::filesystem::path& key_file) const {
    write_text(cert_file, certificate_pem);
    write_text(key_file, private_key_pem);
    ::chmod(key_file.c_str(), 0600);
}

}  // namespace seshook::testing
