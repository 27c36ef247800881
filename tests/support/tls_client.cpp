#include "support/tls_client.hpp"

#include <openssl/bn.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <stdexcept>

namespace seshook::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using boost::system::error_code;

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("tls_client: " + what); }

int version_number(tls_protocol protocol) {
    switch (protocol) {
        case tls_protocol::tls1_1:
            return TLS1_1_VERSION;
        case tls_protocol::tls1_2:
            return TLS1_2_VERSION;
        case tls_protocol::tls1_3:
            return TLS1_3_VERSION;
        case tls_protocol::any:
            break;
    }
    return 0;
}

// Sets up what the client offers and what it checks.
void configure(ssl::context& context, const tls_client_options& options) {
    SSL_CTX* ctx = context.native_handle();
    if (options.legacy) {
        SSL_CTX_set_security_level(ctx, 0);
        SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0");
    }
    if (const int version = version_number(options.only); version != 0) {
        SSL_CTX_set_min_proto_version(ctx, version);
        SSL_CTX_set_max_proto_version(ctx, version);
    }
    if (!options.trusted_root_pem.empty()) {
        context.add_certificate_authority(asio::buffer(options.trusted_root_pem));
        context.set_verify_mode(ssl::verify_peer);
    } else {
        context.set_verify_mode(ssl::verify_none);
    }
}

}  // namespace

struct tls_connection::impl {
    explicit impl(const tls_client_options& options, std::chrono::milliseconds t)
        : context(ssl::context::tls_client), timeout(t) {
        configure(context, options);
        stream.emplace(io, context);
    }

    // Runs one asynchronous step to its end, under the deadline; returns its outcome.
    template <class Start>
    error_code run(Start start) {
        error_code outcome = asio::error::would_block;
        beast::get_lowest_layer(*stream).expires_after(timeout);
        start([&outcome](const error_code& ec, auto&&...) { outcome = ec; });
        io.restart();
        io.run();
        return outcome;
    }

    X509* peer() {
        X509* cert = SSL_get0_peer_certificate(stream->native_handle());
        if (cert == nullptr) fail("the server sent no certificate");
        return cert;
    }

    asio::io_context io;
    ssl::context context;
    std::optional<beast::ssl_stream<beast::tcp_stream>> stream;
    beast::flat_buffer buffer;
    std::chrono::milliseconds timeout;
};

tls_connection::tls_connection(std::uint16_t port, tls_client_options options,
                               std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>(options, timeout)) {
    // Connect.
    const asio::ip::tcp::endpoint server(asio::ip::make_address("127.0.0.1"), port);
    if (const auto ec = impl_->run([&](auto handler) {
            beast::get_lowest_layer(*impl_->stream).async_connect(server, handler);
        })) {
        fail("connect to 127.0.0.1:" + std::to_string(port) + ": " + ec.message());
    }

    // Name the server (SNI) and, when verifying, check that the certificate is for that name.
    SSL* ssl = impl_->stream->native_handle();
    SSL_set_tlsext_host_name(ssl, options.host_name.c_str());
    if (!options.trusted_root_pem.empty()) SSL_set1_host(ssl, options.host_name.c_str());
    if (options.resume) SSL_set_session(ssl, options.resume.get());

    // Handshake.
    if (const auto ec = impl_->run([&](auto handler) {
            impl_->stream->async_handshake(ssl::stream_base::client, handler);
        })) {
        fail("handshake: " + ec.message());
    }
}

tls_connection::~tls_connection() = default;

void tls_connection::send(std::string_view bytes) {
    if (const auto ec = impl_->run([&](auto handler) {
            asio::async_write(*impl_->stream, asio::buffer(bytes.data(), bytes.size()), handler);
        })) {
        fail("send: " + ec.message());
    }
}

raw_response tls_connection::read_response() {
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    if (const auto ec = impl_->run([&](auto handler) {
            http::async_read(*impl_->stream, impl_->buffer, parser, handler);
        })) {
        fail("read response: " + ec.message());
    }
    const auto& message = parser.get();
    raw_response response;
    response.version = message.version() == 10 ? "HTTP/1.0" : "HTTP/1.1";
    response.status = message.result_int();
    response.reason = std::string(message.reason());
    for (const auto& field : message) {
        response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    response.body = message.body();
    return response;
}

std::string tls_connection::peer_serial() const {
    BIGNUM* number = ASN1_INTEGER_to_BN(X509_get0_serialNumber(impl_->peer()), nullptr);
    char* hex = number != nullptr ? BN_bn2hex(number) : nullptr;
    std::string serial = hex != nullptr ? hex : "";
    OPENSSL_free(hex);
    BN_free(number);
    return serial;
}

std::string tls_connection::peer_common_name() const {
    std::array<char, 256> name{};
    X509_NAME_get_text_by_NID(X509_get_subject_name(impl_->peer()), NID_commonName, name.data(),
                              static_cast<int>(name.size()));
    return name.data();
}

std::string tls_connection::protocol() const {
    return SSL_get_version(impl_->stream->native_handle());
}

tls_session tls_connection::session() const {
    return tls_session(SSL_get1_session(impl_->stream->native_handle()), SSL_SESSION_free);
}

bool tls_connection::resumed() const {
    return SSL_session_reused(impl_->stream->native_handle()) == 1;
}

tls_ending tls_connection::wait_end(std::chrono::milliseconds timeout) {
    // Read and drop until the read fails; only the deadline means the server kept it open.
    const auto saved = impl_->timeout;
    impl_->timeout = timeout;
    std::array<char, 4096> scratch{};
    error_code ec;
    while (!ec) {
        ec = impl_->run(
            [&](auto handler) { impl_->stream->async_read_some(asio::buffer(scratch), handler); });
    }
    impl_->timeout = saved;

    // Asio reports a close_notify as the end of the stream, and an end without one as a
    // truncated stream.
    if (ec == beast::error::timeout) return tls_ending::still_open;
    return ec == asio::error::eof ? tls_ending::close_notify : tls_ending::cut;
}

std::string tls_handshake_error(std::uint16_t port, tls_client_options options) {
    try {
        tls_connection connection(port, std::move(options));
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}

raw_response tls_post_once(std::uint16_t port, const tls_client_options& options,
                           std::string_view target, std::string_view body) {
    tls_connection connection(port, options);
    connection.send(make_post(target, body));
    return connection.read_response();
}

}  // namespace seshook::testing
