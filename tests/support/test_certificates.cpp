#include "support/test_certificates.hpp"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <boost/asio/ip/address.hpp>
#include <fstream>
#include <stdexcept>
#include <string_view>

namespace seshook::testing {
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

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
    extension_ptr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str()));
    if (!extension || X509_add_ext(cert, extension.get(), -1) != 1) {
        fail("cannot add extension " + value);
    }
}

pkey_ptr make_key() {
    pkey_ptr key(EVP_EC_gen("P-256"));
    if (!key) fail("cannot create a key");
    return key;
}

// Returns "DNS:a,IP:b" for the names, the only place where clients look for them.
std::string alt_names(const std::vector<std::string>& names) {
    std::string text;
    for (const auto& name : names) {
        boost::system::error_code ec;
        boost::asio::ip::make_address(name, ec);
        text += (text.empty() ? "" : ",") + std::string(ec ? "DNS:" : "IP:") + name;
    }
    return text;
}

// What a certificate to make says of itself.
struct certificate_request {
    std::string common_name;
    std::vector<std::string> names;  // none for a CA
    std::uint64_t serial = 1;
    bool authority = false;
};

// Makes a certificate for `key`, signed by `issuer_key` under `issuer`, or by `key` itself when
// `issuer` is null.
x509_ptr make_certificate(const certificate_request& request, EVP_PKEY* key, X509* issuer,
                          EVP_PKEY* issuer_key) {
    x509_ptr cert(X509_new());
    if (!cert) fail("cannot create a certificate");
    X509_set_version(cert.get(), 2);

    // Serial and validity: a day, starting a minute ago so clock steps do not matter.
    BIGNUM* serial = BN_new();
    if (serial == nullptr || BN_set_word(serial, request.serial) != 1 ||
        BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get())) == nullptr) {
        BN_free(serial);
        fail("cannot set the serial number");
    }
    BN_free(serial);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
    X509_set_pubkey(cert.get(), key);

    // Subject, and the issuer's name (its own for a self-signed one).
    X509_NAME* subject = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(request.common_name.c_str()),
                               -1, -1, 0);
    X509* signer = issuer != nullptr ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));

    // What it may be used for.
    if (request.authority) {
        add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        // NOTE: digitalSignature too, so that a self-signed one can also serve TLS itself.
        add_extension(cert.get(), signer, NID_key_usage,
                      "critical,digitalSignature,keyCertSign,cRLSign");
    } else {
        add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
        add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
    }
    if (!request.names.empty()) {
        add_extension(cert.get(), signer, NID_subject_alt_name, alt_names(request.names));
    }
    add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
    if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
        fail("cannot sign the certificate");
    }
    return cert;
}

std::string pem_of(X509* cert) {
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) fail("cannot write a certificate");
    return bio_text(bio.get());
}

std::string pem_of(EVP_PKEY* key) {
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        fail("cannot write a key");
    }
    return bio_text(bio.get());
}

void write_text(const std::filesystem::path& path, std::string_view text) {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!file.flush()) fail("cannot write " + path.string());
}

}  // namespace

tls_identity tls_identity::self_signed(const std::vector<std::string>& names) {
    if (names.empty()) fail("a certificate needs at least one name");
    const pkey_ptr key = make_key();

    // NOTE: marked as a CA, so that a client can trust it as its own root.
    const auto cert =
        make_certificate({names.front(), names, 1, true}, key.get(), nullptr, nullptr);
    return {pem_of(cert.get()), pem_of(key.get())};
}

void tls_identity::write(const std::filesystem::path& cert_file,
                         const std::filesystem::path& key_file) const {
    write_text(cert_file, certificate_pem);
    write_text(key_file, private_key_pem);
    ::chmod(key_file.c_str(), 0600);
}

struct test_certificate_authority::impl {
    pkey_ptr root_key = make_key();
    x509_ptr root =
        make_certificate({"seshook test root CA", {}, 1, true}, root_key.get(), nullptr, nullptr);
    pkey_ptr intermediate_key = make_key();
    x509_ptr intermediate = make_certificate({"seshook test intermediate CA", {}, 2, true},
                                             intermediate_key.get(), root.get(), root_key.get());
    std::string root_pem = pem_of(root.get());
};

test_certificate_authority::test_certificate_authority() : impl_(std::make_unique<impl>()) {}

test_certificate_authority::~test_certificate_authority() = default;

const std::string& test_certificate_authority::root_pem() const noexcept { return impl_->root_pem; }

tls_identity test_certificate_authority::issue(const std::vector<std::string>& names,
                                               std::uint64_t serial) const {
    if (names.empty()) fail("a certificate needs at least one name");
    const pkey_ptr key = make_key();
    const auto leaf = make_certificate({names.front(), names, serial, false}, key.get(),
                                       impl_->intermediate.get(), impl_->intermediate_key.get());
    return {pem_of(leaf.get()) + pem_of(impl_->intermediate.get()), pem_of(key.get())};
}

}  // namespace seshook::testing
