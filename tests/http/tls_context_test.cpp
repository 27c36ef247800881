#include "seshook/http/tls_context.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/asio/ssl/context.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "support/log_capture.hpp"
#include "support/temp_dir.hpp"
#include "support/test_certificates.hpp"

namespace seshook {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using testing::temp_dir;
using testing::tls_authority;
using testing::tls_identity;

void write_text(const std::filesystem::path& path, std::string_view text) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// A folder with a certificate (serial 0x2A, for "localhost") and its key, and the [tls] settings
// that name them.
class TlsContextTest : public ::testing::Test {
protected:
    TlsContextTest() {
        ca_.issue({"localhost", "127.0.0.1"}, 0x2A).write(cert_file(), key_file());
        settings_.cert_file = cert_file();
        settings_.key_file = key_file();
    }

    std::filesystem::path cert_file() const { return dir_ / "cert.pem"; }
    std::filesystem::path key_file() const { return dir_ / "key.pem"; }

    // Returns the message of the config_error that building the context throws, or "".
    std::string error_of(const tls_config& settings) const {
        try {
            make_tls_context(settings, "test.toml");
        } catch (const config_error& e) {
            return e.what();
        }
        ADD_FAILURE() << "no config_error";
        return "";
    }

    temp_dir dir_;
    const tls_authority ca_ = tls_authority::create();
    tls_config settings_;
};

TEST_F(TlsContextTest, LoadsAMatchingPairAndDescribesTheLeaf) {
    const auto made = make_tls_context(settings_, "test.toml");
    ASSERT_NE(made.context, nullptr);
    EXPECT_THAT(made.certificate, AllOf(HasSubstr("subject CN=localhost"), HasSubstr("serial 2A"),
                                        HasSubstr("valid until 20")));
    EXPECT_FALSE(made.outside_validity);

    // The versions and options it promises are set on the context.
    SSL_CTX* ctx = made.context->native_handle();
    EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
    EXPECT_NE(SSL_CTX_get_options(ctx) & SSL_OP_NO_COMPRESSION, 0u);
    EXPECT_NE(SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION, 0u);
    EXPECT_EQ(SSL_CTX_get_options(ctx) & SSL_OP_NO_TICKET, 0u);

    settings_.min_version = tls_version::v1_3;
    EXPECT_EQ(
        SSL_CTX_get_min_proto_version(make_tls_context(settings_, "t").context->native_handle()),
        TLS1_3_VERSION);
}

TEST_F(TlsContextTest, MissingFileOrFolderNamesTheKeyAndTheFile) {
    auto settings = settings_;
    settings.cert_file = dir_ / "missing.pem";
    EXPECT_EQ(error_of(settings), "test.toml: tls.cert_file: cannot read \"" +
                                      settings.cert_file.string() +
                                      "\": No such file or directory");
    settings = settings_;
    settings.key_file = dir_.path();
    EXPECT_EQ(error_of(settings), "test.toml: tls.key_file: cannot read \"" + dir_.path().string() +
                                      "\": it is a directory");
}

TEST_F(TlsContextTest, FileWithoutPemNamesTheKey) {
    write_text(cert_file(), "not a certificate\n");
    EXPECT_THAT(error_of(settings_),
                StartsWith("test.toml: tls.cert_file: no PEM certificate chain in \"" +
                           cert_file().string() + "\": "));
}

TEST_F(TlsContextTest, BrokenKeyIsNamedButNeverShown) {
    write_text(
        key_file(),
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n");
    const std::string message = error_of(settings_);
    EXPECT_THAT(message, StartsWith("test.toml: tls.key_file: no PEM private key in \"" +
                                    key_file().string() + "\": "));
    EXPECT_THAT(message, Not(HasSubstr("c2VjcmV0")));
}

TEST_F(TlsContextTest, KeyOfAnotherCertificateIsRefused) {
    write_text(key_file(), ca_.issue({"localhost"}, 7).private_key_pem);
    EXPECT_EQ(error_of(settings_), "test.toml: tls.key_file: the key in \"" + key_file().string() +
                                       "\" does not belong to the certificate in \"" +
                                       cert_file().string() + "\"");
}

TEST_F(TlsContextTest, EncryptedKeyIsRefusedWithoutAPrompt) {
    // Encrypt the key with a passphrase, as `openssl genpkey -aes256` would.
    const auto identity = ca_.issue({"localhost"}, 8);
    identity.write(cert_file(), key_file());
    BIO* in = BIO_new_mem_buf(identity.private_key_pem.data(),
                              static_cast<int>(identity.private_key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
    BIO* out = BIO_new(BIO_s_mem());
    ASSERT_NE(key, nullptr);
    char passphrase[] = "correct horse";
    ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(out, key, EVP_aes_256_cbc(), passphrase,
                                            sizeof passphrase - 1, nullptr, nullptr),
              1);
    char* data = nullptr;
    const long size = BIO_get_mem_data(out, &data);
    write_text(key_file(), std::string(data, static_cast<std::size_t>(size)));
    EVP_PKEY_free(key);
    BIO_free(in);
    BIO_free(out);

    EXPECT_THAT(error_of(settings_),
                AllOf(StartsWith("test.toml: tls.key_file: \"" + key_file().string() +
                                 "\" holds an encrypted key"),
                      HasSubstr("unencrypted")));
}

TEST_F(TlsContextTest, MisspeltCipherIsNamedEvenBesideGoodOnes) {
    // OpenSSL alone would drop the unknown name and carry on with the others.
    auto settings = settings_;
    settings.ciphers = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GMC-SHA256";
    EXPECT_EQ(error_of(settings),
              "test.toml: tls.ciphers: \"ECDHE-RSA-AES128-GMC-SHA256\" matches no TLS 1.2 cipher "
              "this OpenSSL offers");

    // Operators and aliases are fine.
    settings.ciphers = "ECDHE+AESGCM:!aNULL:@STRENGTH";
    EXPECT_NO_THROW(make_tls_context(settings, "test.toml"));

    settings = settings_;
    settings.ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_AES_512_GCM_SHA512";
    EXPECT_EQ(error_of(settings),
              "test.toml: tls.ciphersuites: \"TLS_AES_512_GCM_SHA512\" is not a TLS 1.3 cipher "
              "suite this OpenSSL offers");
}

TEST_F(TlsContextTest, StoreSwapsInAReloadedCertificateAndKeepsTheOldOneForItsHolders) {
    tls_context_store store(settings_, "test.toml");
    const auto first = store.current();
    EXPECT_THAT(store.certificate(), HasSubstr("serial 2A"));

    // A new pair at the same paths: new connections get it, holders keep theirs.
    ca_.issue({"localhost"}, 0x2B).write(cert_file(), key_file());
    EXPECT_TRUE(store.reload());
    EXPECT_NE(store.current(), first);
    EXPECT_THAT(store.certificate(), HasSubstr("serial 2B"));
    const X509* held = SSL_CTX_get0_certificate(first->native_handle());
    EXPECT_EQ(ASN1_INTEGER_get(X509_get0_serialNumber(held)), 0x2A);
}

TEST_F(TlsContextTest, StoreKeepsServingWhenTheReplacementIsBroken) {
    tls_context_store store(settings_, "test.toml");
    const auto serving = store.current();

    // A half-written certificate: the error names the file, and nothing changes.
    write_text(cert_file(), "-----BEGIN CERTIFICATE-----\nMIIB\n");
    testing::log_capture log;
    EXPECT_FALSE(store.reload());
    EXPECT_EQ(store.current(), serving);
    EXPECT_THAT(store.certificate(), HasSubstr("serial 2A"));
    EXPECT_THAT(log.text(), AllOf(HasSubstr("error [tls] cannot reload the certificate"),
                                  HasSubstr(cert_file().string())));
}

TEST_F(TlsContextTest, StoreCountsFailedHandshakes) {
    tls_context_store store(settings_, "test.toml");
    store.count_failed_handshake();
    store.count_failed_handshake();
    EXPECT_EQ(store.failed_handshakes(), 2u);
}

}  // namespace
}  // namespace seshook
