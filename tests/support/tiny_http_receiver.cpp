#include "support/tiny_http_receiver.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace seshook::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](unsigned char x, unsigned char y) {
        return std::tolower(x) == std::tolower(y);
    });
}

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("tiny_http_receiver: " + what);
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

}  // namespace

std::string received_request::header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (iequals(key, name)) {
            return value;
        }
    }
    return {};
}

bool received_request::has_header(std::string_view name) const {
    return std::any_of(headers.begin(), headers.end(),
                       [&](const auto& header) { return iequals(header.first, name); });
}

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
    if (names.empty()) {
        fail("a certificate needs at least one name");
    }
    const auto issuer = from_pem<X509, X509_free>(certificate_pem, PEM_read_bio_X509);
    const auto issuer_key =
        from_pem<EVP_PKEY, EVP_PKEY_free>(private_key_pem, PEM_read_bio_PrivateKey);
    static std::atomic<long> serial{1};
    const auto key = new_key();
    const auto cert = make_certificate({names.front(), names, certificate_role::server, ++serial},
                                       key.get(), issuer.get(), issuer_key.get());
    return {pem_of(cert.get()), pem_of(key.get())};
}

namespace detail {

/// What the receiver thread shares with the test thread, and what its sessions reach.
struct receiver_core {
    explicit receiver_core(tiny_http_receiver::behaviour b) : respond(std::move(b)) {}

    /// Records a request and returns the reply the behaviour chooses for it.
    receiver_reply take(received_request request) {
        std::lock_guard lock(mutex);
        const auto index = requests.size();
        requests.push_back(std::move(request));
        auto reply = respond(requests.back(), index);
        arrived.notify_all();
        return reply;
    }

    std::size_t count_connection() {
        std::lock_guard lock(mutex);
        return ++connections;
    }

    mutable std::mutex mutex;
    mutable std::condition_variable arrived;
    tiny_http_receiver::behaviour respond;
    std::vector<received_request> requests;
    std::size_t connections = 0;
    std::vector<std::shared_ptr<void>> held;  // sessions that never answer; receiver thread only
};

/// One accepted connection, over a plain or a TLS stream.
template <class Stream>
class session : public std::enable_shared_from_this<session<Stream>> {
public:
    session(receiver_core& owner, Stream stream, std::size_t connection)
        : owner_(owner), stream_(std::move(stream)), connection_(connection) {}

    void start() {
        if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
            do_read();
        } else {
            stream_.async_handshake(ssl::stream_base::server,
                                    [self = this->shared_from_this()](const error_code& ec) {
                                        if (!ec) {
                                            self->do_read();
                                        }
                                    });
        }
    }

private:
    void do_read() {
        request_ = {};
        http::async_read(stream_, buffer_, request_,
                         [self = this->shared_from_this()](const error_code& ec, std::size_t) {
                             self->on_read(ec);
                         });
    }

    void on_read(const error_code& ec) {
        // The client closed, or sent something that is not HTTP: the session ends.
        if (ec) {
            return;
        }

        // Record the request and ask the behaviour what to do.
        received_request seen;
        seen.method = std::string(request_.method_string());
        seen.target = std::string(request_.target());
        for (const auto& field : request_) {
            seen.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
        }
        seen.body = request_.body();
        seen.connection = connection_;
        const auto reply = owner_.take(std::move(seen));

        // Silence: keep the connection open until the receiver stops.
        if (reply.never_answer) {
            owner_.held.push_back(this->shared_from_this());
            return;
        }

        // Close after answering when the behaviour or the client asks for it.
        close_after_ = reply.close || reply.drop_after || !request_.keep_alive();

        // Answer with the bytes the behaviour wrote itself, such as several responses at once.
        if (!reply.raw.empty()) {
            raw_ = reply.raw;
            asio::async_write(stream_, asio::buffer(raw_),
                              [self = this->shared_from_this()](const error_code& ec, std::size_t) {
                                  self->on_write(ec);
                              });
            return;
        }

        // Answer with the status and body.
        response_ = {};
        response_.version(11);
        response_.result(reply.status);
        response_.set(http::field::content_type, "application/json");
        response_.body() = reply.body;
        response_.keep_alive(!reply.close && request_.keep_alive());
        response_.prepare_payload();
        http::async_write(stream_, response_,
                          [self = this->shared_from_this()](const error_code& ec, std::size_t) {
                              self->on_write(ec);
                          });
    }

    void on_write(const error_code& ec) {
        if (ec) {
            return;
        }
        if (close_after_) {
            error_code ignored;
            beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
            beast::get_lowest_layer(stream_).socket().close(ignored);
            return;
        }
        do_read();
    }

    receiver_core& owner_;
    Stream stream_;
    std::size_t connection_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> request_;
    http::response<http::string_body> response_;
    std::string raw_;
    bool close_after_ = false;
};

}  // namespace detail

struct tiny_http_receiver::impl : detail::receiver_core {
    using receiver_core::receiver_core;

    void start(std::uint16_t wanted_port = 0);
    void do_accept();

    std::optional<ssl::context> tls_context;
    asio::io_context ioc{1};
    tcp::acceptor acceptor{ioc};
    std::uint16_t port = 0;
    std::thread thread;
};

void tiny_http_receiver::impl::start(std::uint16_t wanted_port) {
    const tcp::endpoint loopback(asio::ip::make_address("127.0.0.1"), wanted_port);
    acceptor.open(loopback.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));

    // A port given back a moment ago can still be held by a socket on its way out: try again.
    for (int attempt = 1;; ++attempt) {
        error_code ec;
        acceptor.bind(loopback, ec);
        if (!ec) break;
        if (wanted_port == 0 || ec != asio::error::address_in_use || attempt == 50) {
            fail("cannot bind 127.0.0.1:" + std::to_string(wanted_port) + ": " + ec.message());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    acceptor.listen();
    port = acceptor.local_endpoint().port();
    do_accept();
    thread = std::thread([this] { ioc.run(); });
}

void tiny_http_receiver::impl::do_accept() {
    acceptor.async_accept([this](const error_code& ec, tcp::socket socket) {
        if (ec) {
            return;
        }
        const auto connection = count_connection();
        using tls_stream = beast::ssl_stream<beast::tcp_stream>;
        if (tls_context) {
            std::make_shared<detail::session<tls_stream>>(
                *this, tls_stream(std::move(socket), *tls_context), connection)
                ->start();
        } else {
            std::make_shared<detail::session<beast::tcp_stream>>(
                *this, beast::tcp_stream(std::move(socket)), connection)
                ->start();
        }
        do_accept();
    });
}

tiny_http_receiver::tiny_http_receiver(behaviour respond)
    : impl_(std::make_unique<impl>(std::move(respond))) {
    impl_->start();
}

tiny_http_receiver::tiny_http_receiver(std::uint16_t port, behaviour respond)
    : impl_(std::make_unique<impl>(std::move(respond))) {
    impl_->start(port);
}

tiny_http_receiver::tiny_http_receiver(tls_identity identity, behaviour respond)
    : impl_(std::make_unique<impl>(std::move(respond))) {
    auto& context = impl_->tls_context.emplace(ssl::context::tls_server);
    context.use_certificate_chain(asio::buffer(identity.certificate_pem));
    context.use_private_key(asio::buffer(identity.private_key_pem), ssl::context::pem);
    impl_->start();
}

tiny_http_receiver::~tiny_http_receiver() { stop(); }

void tiny_http_receiver::stop() {
    // Stop the thread first; pending handlers, and the sessions they own, go with the context.
    impl_->ioc.stop();
    if (impl_->thread.joinable()) {
        impl_->thread.join();
    }
    impl_->held.clear();
}

tiny_http_receiver::behaviour tiny_http_receiver::answer_always(unsigned status) {
    return [status](const received_request&, std::size_t) {
        receiver_reply reply;
        reply.status = status;
        return reply;
    };
}

tiny_http_receiver::behaviour tiny_http_receiver::answer_in_turn(std::vector<unsigned> statuses) {
    if (statuses.empty()) {
        fail("answer_in_turn needs at least one status");
    }
    return [statuses = std::move(statuses)](const received_request&, std::size_t index) {
        receiver_reply reply;
        reply.status = statuses[std::min(index, statuses.size() - 1)];
        return reply;
    };
}

tiny_http_receiver::behaviour tiny_http_receiver::never_answer() {
    return [](const received_request&, std::size_t) {
        receiver_reply reply;
        reply.never_answer = true;
        return reply;
    };
}

void tiny_http_receiver::set_behaviour(behaviour respond) {
    std::lock_guard lock(impl_->mutex);
    impl_->respond = std::move(respond);
}

std::uint16_t tiny_http_receiver::port() const noexcept { return impl_->port; }

std::string tiny_http_receiver::url(std::string_view target) const {
    return std::string(impl_->tls_context ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(impl_->port) + std::string(target);
}

std::vector<received_request> tiny_http_receiver::requests() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->requests;
}

std::size_t tiny_http_receiver::request_count() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->requests.size();
}

std::size_t tiny_http_receiver::connection_count() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->connections;
}

bool tiny_http_receiver::wait_for_requests(std::size_t count,
                                           std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    return impl_->arrived.wait_for(lock, timeout, [&] { return impl_->requests.size() >= count; });
}

}  // namespace seshook::testing
