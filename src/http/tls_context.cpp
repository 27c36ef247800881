#include "seshook/http/tls_context.hpp"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cerrno>
#include <ctime>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>
#include <vector>

namespace seshook {
namespace {

namespace ssl = boost::asio::ssl;

// A PEM file larger than this is not a certificate chain or a key, but a mistake (a log file,
// /dev/zero); it is refused before it fills the memory.
constexpr std::streamsize max_pem_bytes = 1024 * 1024;

template <class T, void (*Free)(T*)>
struct openssl_deleter {
    void operator()(T* p) const noexcept { Free(p); }
};
using bio_ptr = std::unique_ptr<BIO, openssl_deleter<BIO, BIO_free_all>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY, EVP_PKEY_free>>;

// The text of a key file, wiped from memory when it goes away.
class secret_text {
public:
    secret_text() = default;
    ~secret_text() { OPENSSL_cleanse(text_.data(), text_.size()); }
    secret_text(const secret_text&) = delete;
    secret_text& operator=(const secret_text&) = delete;

    std::string& text() noexcept { return text_; }

private:
    std::string text_;
};

config_error tls_error(std::string_view source, std::string_view key, std::string_view message) {
    return config_error(std::string(source) + ": tls." + std::string(key) + ": " +
                        std::string(message));
}

std::string quoted(const std::filesystem::path& path) { return "\"" + path.string() + "\""; }

// Returns the reason of the oldest error OpenSSL queued, and empties its queue.
std::string openssl_reason() {
    const unsigned long code = ERR_peek_error();
    ERR_clear_error();
    const char* reason = code == 0 ? nullptr : ERR_reason_error_string(code);
    return reason != nullptr ? reason : "unknown error";
}

// Reads the whole file into `text`, naming the key and the file when it cannot.
void read_pem_file(const std::filesystem::path& path, std::string_view source, std::string_view key,
                   std::string& text) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw tls_error(source, key, "cannot read " + quoted(path) + ": it is a directory");
    }
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        throw tls_error(
            source, key,
            "cannot read " + quoted(path) + ": " + std::generic_category().message(errno));
    }
    text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    if (static_cast<std::streamsize>(text.size()) > max_pem_bytes) {
        throw tls_error(source, key, quoted(path) + " is larger than 1 MiB: not a PEM file");
    }
}

// No prompt for a passphrase: a daemon has no one to type it, and a prompt would hang it.
int refuse_passphrase(char*, int, int, void*) { return 0; }

// Reads the private key of `path`, with clear words for the usual mistakes.
pkey_ptr read_private_key(const std::filesystem::path& path, std::string_view source) {
    secret_text pem;
    read_pem_file(path, source, "key_file", pem.text());
    const bool encrypted = pem.text().find("-----BEGIN ENCRYPTED") != std::string::npos ||
                           pem.text().find("Proc-Type: 4,ENCRYPTED") != std::string::npos;
    if (encrypted) {
        throw tls_error(source, "key_file",
                        quoted(path) +
                            " holds an encrypted key; seshook needs it unencrypted, in a file only "
                            "its user can read");
    }
    if (pem.text().find("PRIVATE KEY-----") == std::string::npos) {
        throw tls_error(source, "key_file",
                        "no PEM private key in " + quoted(path) +
                            ": no \"-----BEGIN ... PRIVATE KEY-----\" line");
    }
    bio_ptr bio(BIO_new_mem_buf(pem.text().data(), static_cast<int>(pem.text().size())));
    ERR_clear_error();
    pkey_ptr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, nullptr)
                     : nullptr);
    if (!key) {
        throw tls_error(source, "key_file",
                        "no PEM private key in " + quoted(path) + ": " + openssl_reason());
    }
    return key;
}

// Splits an OpenSSL list at its separators.
std::vector<std::string> list_elements(std::string_view list, std::string_view separators) {
    std::vector<std::string> elements;
    std::size_t start = 0;
    while (start <= list.size()) {
        const auto end = std::min(list.find_first_of(separators, start), list.size());
        if (end > start) elements.emplace_back(list.substr(start, end - start));
        start = end + 1;
    }
    return elements;
}

// NOTE: OpenSSL silently drops the names it does not know from a cipher list, as long as one
// name is left. Each element is tried alone first, so that a misspelt one is reported instead of
// quietly missing; operators (!, -, +, @) select nothing alone and are left to the whole list.
void set_ciphers(SSL_CTX* ctx, const std::string& list, std::string_view source) {
    for (const auto& element : list_elements(list, ":, ")) {
        if (element.find_first_of("!-+@") == 0) continue;
        if (SSL_CTX_set_cipher_list(ctx, element.c_str()) != 1) {
            ERR_clear_error();
            throw tls_error(source, "ciphers",
                            "\"" + element + "\" matches no TLS 1.2 cipher this OpenSSL offers");
        }
    }
    if (SSL_CTX_set_cipher_list(ctx, list.c_str()) != 1) {
        ERR_clear_error();
        throw tls_error(source, "ciphers", "\"" + list + "\" selects no cipher");
    }
}

void set_ciphersuites(SSL_CTX* ctx, const std::string& list, std::string_view source) {
    for (const auto& element : list_elements(list, ":")) {
        if (SSL_CTX_set_ciphersuites(ctx, element.c_str()) != 1) {
            ERR_clear_error();
            throw tls_error(
                source, "ciphersuites",
                "\"" + element + "\" is not a TLS 1.3 cipher suite this OpenSSL offers");
        }
    }
    if (SSL_CTX_set_ciphersuites(ctx, list.c_str()) != 1) {
        ERR_clear_error();
        throw tls_error(source, "ciphersuites", "\"" + list + "\" selects no cipher suite");
    }
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

// Returns "subject …, serial …, valid until …" of a certificate: nothing secret.
std::string describe(X509* certificate) {
    bio_ptr subject(BIO_new(BIO_s_mem()));
    if (subject) {
        X509_NAME_print_ex(subject.get(), X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253);
    }
    std::string serial = "?";
    if (BIGNUM* number = ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), nullptr)) {
        if (char* hex = BN_bn2hex(number)) {
            serial = hex;
            OPENSSL_free(hex);
        }
        BN_free(number);
    }
    std::string until = "?";
    std::tm end{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(certificate), &end) == 1) {
        char text[32];
        if (std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &end) > 0) until = text;
    }
    return "subject " + (subject ? bio_text(subject.get()) : std::string("?")) + ", serial " +
           serial + ", valid until " + until;
}

bool outside_validity(X509* certificate) {
    return X509_cmp_current_time(X509_get0_notBefore(certificate)) > 0 ||
           X509_cmp_current_time(X509_get0_notAfter(certificate)) < 0;
}

// Served all the same: clients refuse it, and the log says why before they do.
void warn_if_outside_validity(const tls_server_context& context) {
    if (context.outside_validity) {
        spdlog::warn("[tls] the certificate is expired or not valid yet: {}", context.certificate);
    }
}

}  // namespace

tls_server_context make_tls_context(const tls_config& tls, std::string_view source) {
    tls_server_context made;
    made.context = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* ctx = made.context->native_handle();

    // The configured version or later; nothing older than TLS 1.2, whatever the cipher list.
    SSL_CTX_set_min_proto_version(
        ctx, tls.min_version == tls_version::v1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);

    // No compression (CRIME), no renegotiation (a client could make the server redo the costly
    // part at will), and the server's cipher order. Resumption uses session tickets alone: a
    // session cache would grow with every client.
    SSL_CTX_set_options(
        ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_default_passwd_cb(ctx, refuse_passphrase);

    // The cipher lists, each name checked.
    set_ciphers(ctx, tls.ciphers, source);
    set_ciphersuites(ctx, tls.ciphersuites, source);

    // The certificate chain, leaf first; what it presents is described for the log.
    {
        std::string chain;
        read_pem_file(tls.cert_file, source, "cert_file", chain);
        boost::system::error_code ec;
        made.context->use_certificate_chain(boost::asio::buffer(chain), ec);
        if (ec) {
            ERR_clear_error();
            throw tls_error(
                source, "cert_file",
                "no PEM certificate chain in " + quoted(tls.cert_file) + ": " + ec.message());
        }
    }
    X509* leaf = SSL_CTX_get0_certificate(ctx);
    made.certificate = describe(leaf);
    made.outside_validity = outside_validity(leaf);

    // The private key, which must be the leaf's.
    const pkey_ptr key = read_private_key(tls.key_file, source);
    if (X509_check_private_key(leaf, key.get()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        throw tls_error(source, "key_file",
                        "the key in " + quoted(tls.key_file) +
                            " does not belong to the certificate in " + quoted(tls.cert_file));
    }
    return made;
}

tls_context_store::tls_context_store(tls_config settings, std::string source)
    : settings_(std::move(settings)),
      source_(std::move(source)),
      current_(make_tls_context(settings_, source_)) {
    warn_if_outside_validity(current_);
}

std::shared_ptr<ssl::context> tls_context_store::current() const {
    std::lock_guard lock(mutex_);
    return current_.context;
}

bool tls_context_store::reload() {
    // Build the new context aside; the current one serves until it is complete.
    tls_server_context fresh;
    try {
        fresh = make_tls_context(settings_, source_);
    } catch (const config_error& e) {
        spdlog::error("[tls] cannot reload the certificate, still serving the previous one: {}",
                      e.what());
        return false;
    }
    warn_if_outside_validity(fresh);
    const std::string described = fresh.certificate;

    // Swap it in; open connections hold their own reference to the old one.
    // NOTE: logged only once swapped, so that whoever reads the line gets the new certificate.
    {
        std::lock_guard lock(mutex_);
        current_ = std::move(fresh);
    }
    spdlog::info("[tls] reloaded {} and {}: new connections get {}", settings_.cert_file.string(),
                 settings_.key_file.string(), described);
    return true;
}

std::string tls_context_store::certificate() const {
    std::lock_guard lock(mutex_);
    return current_.certificate;
}

void tls_context_store::count_failed_handshake() noexcept {
    failed_handshakes_.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t tls_context_store::failed_handshakes() const noexcept {
    return failed_handshakes_.load(std::memory_order_relaxed);
}

}  // namespace seshook
