#include "seshook/sinks/http_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <charconv>
#include <optional>
#include <utility>

namespace seshook {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

// A downstream answer is only read for its status and the start of its body, so a large body
// is cut off rather than buffered.
constexpr std::size_t max_response_body = 64 * 1024;
constexpr std::size_t kept_body_bytes = 512;

std::string lowercase(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
    unsigned value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc{} || ptr != end || value == 0 || value > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(value);
}

// Accepts the characters of a DNS name or an IPv4 address; anything else (spaces, controls,
// percent escapes) is refused rather than sent to the resolver.
bool valid_host_name(std::string_view host) {
    return !host.empty() && std::all_of(host.begin(), host.end(), [](unsigned char c) {
        return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_';
    });
}

// The target goes into the request line as it is, so it must not contain spaces or controls.
bool valid_target(std::string_view target) {
    return std::none_of(target.begin(), target.end(),
                        [](unsigned char c) { return c <= 0x20 || c == 0x7f; });
}

// A header name or value with a line break or NUL would let it forge further headers.
bool forges_headers(std::string_view text) {
    return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

bool is_ip_literal(const std::string& host) {
    error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

// Returns the error's message starting in lowercase, as the rest of a log line.
std::string message_of(const error_code& ec) {
    std::string message = ec.message();
    if (!message.empty()) {
        message[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(message[0])));
    }
    return message;
}

std::string describe(std::string_view step, const error_code& ec) {
    return std::string(step) + ": " + message_of(ec);
}

// Adds the certificates of a PEM bundle to the authorities `context` trusts.
void trust_bundle(ssl::context& context, std::string_view pem, error_code& ec) {
    context.add_certificate_authority(asio::buffer(pem.data(), pem.size()), ec);
}

}  // namespace

std::string ca_bundle_problem(std::string_view pem) {
    if (pem.find("-----BEGIN CERTIFICATE-----") == std::string_view::npos) {
        return "holds no PEM certificate";
    }
    ssl::context probe(ssl::context::tls_client);
    error_code ec;
    trust_bundle(probe, pem, ec);
    return ec ? "holds a certificate that cannot be read: " + message_of(ec) : "";
}

std::optional<http_url> http_url::parse(std::string_view text) {
    http_url url;

    // Scheme, compared without case.
    const auto scheme_end = text.find("://");
    if (scheme_end == std::string_view::npos) {
        return std::nullopt;
    }
    const auto scheme = lowercase(text.substr(0, scheme_end));
    if (scheme == "https") {
        url.tls = true;
    } else if (scheme != "http") {
        return std::nullopt;
    }

    // The fragment never goes to the server.
    auto rest = text.substr(scheme_end + 3);
    rest = rest.substr(0, rest.find('#'));

    // Authority, up to the path or the query; credentials in the URL are refused.
    const auto authority_end = rest.find_first_of("/?");
    const auto authority = rest.substr(0, authority_end);
    const auto target =
        authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
    if (authority.find('@') != std::string_view::npos) {
        return std::nullopt;
    }

    // Host, bracketed when it is an IPv6 address, then an optional port.
    std::optional<std::string_view> port_text;
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        url.host = std::string(authority.substr(1, close - 1));
        error_code ec;
        asio::ip::make_address_v6(url.host, ec);
        if (ec) {
            return std::nullopt;
        }
        const auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                return std::nullopt;
            }
            port_text = after.substr(1);
        }
    } else {
        const auto colon = authority.find(':');
        url.host = std::string(authority.substr(0, colon));
        if (!valid_host_name(url.host)) {
            return std::nullopt;
        }
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
        }
    }
    url.port = url.tls ? 443 : 80;
    if (port_text) {
        const auto port = parse_port(*port_text);
        if (!port) {
            return std::nullopt;
        }
        url.port = *port;
    }

    // Path and query, "/" when there is none.
    if (!valid_target(target)) {
        return std::nullopt;
    }
    url.target = target.empty() ? "/" : std::string(target);
    if (url.target.front() == '?') {
        url.target.insert(0, 1, '/');
    }
    return url;
}

struct http_client::impl {
    using request = http::request<http::string_body>;

    /// The result of one try on one connection.
    struct attempt_result {
        http_exchange exchange;
        bool before_response = false;  // failed before a single byte of the answer arrived
    };

    impl(http_url u, const tls_verification& tls) : url(std::move(u)), verify_tls(tls.verify_peer) {
        const bool ipv6 = url.host.find(':') != std::string::npos;
        host_header = ipv6 ? "[" + url.host + "]" : url.host;
        if (url.port != (url.tls ? 443 : 80)) {
            host_header += ":" + std::to_string(url.port);
        }
        if (url.tls) {
            make_tls_context(tls);
        }
    }

    /// Sets up TLS 1.2 or later, trusting the given authorities or else the system's.
    void make_tls_context(const tls_verification& tls) {
        tls_context.emplace(ssl::context::tls_client);
        SSL_CTX_set_min_proto_version(tls_context->native_handle(), TLS1_2_VERSION);
        if (!tls.verify_peer) {
            tls_context->set_verify_mode(ssl::verify_none);
            return;
        }
        if (tls.ca_pem.empty()) {
            tls_context->set_default_verify_paths();
        } else {
            error_code ec;
            trust_bundle(*tls_context, tls.ca_pem, ec);
            if (ec) {
                throw boost::system::system_error(ec, "http_client: the CA bundle");
            }
        }
        tls_context->set_verify_mode(ssl::verify_peer);
    }

    /// Makes the handshake check that the certificate names the URL's host: its DNS name, or
    /// its address when the URL holds an IP literal (matched against IP subjectAltNames only).
    /// A wildcard must stand for a whole label ("*.example.com", never "f*.example.com"), as
    /// RFC 6125 advises.
    bool expect_host_name() {
        X509_VERIFY_PARAM* param = SSL_get0_param(secure->native_handle());
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (is_ip_literal(url.host)) {
            return X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str()) == 1;
        }
        return X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), url.host.size()) == 1;
    }

    /// Describes a failed handshake, adding why the certificate was refused when it was.
    std::string handshake_failure(const error_code& ec) {
        auto text = failure("tls handshake", ec);
        const long verdict = SSL_get_verify_result(secure->native_handle());
        if (verify_tls && !stopped && !timed_out && verdict != X509_V_OK) {
            text += ": ";
            text += X509_verify_cert_error_string(verdict);
        }
        return text;
    }

    ~impl() { drop_connection(); }

    beast::tcp_stream& lowest_layer() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

    /// Runs the io_context until `done` is set, aborting the pending operation at the deadline.
    error_code wait(std::optional<error_code>& done) {
        ioc.restart();
        while (!done) {
            if (ioc.run_one_until(deadline) == 0 && !done) {
                // NOTE: run_one_until returns 0 only at the deadline here, because the pending
                // operation keeps the io_context busy until its handler ran.
                timed_out = true;
                abort_io();
                while (!done) {
                    ioc.run_one();
                }
            }
        }
        return *done;
    }

    /// Cancels whatever is pending; the connection is unusable afterwards.
    void abort_io() noexcept {
        resolver.cancel();
        if (plain || secure) {
            error_code ignored;
            lowest_layer().socket().close(ignored);
        }
        connected = false;
    }

    /// Runs on the io_context when the caller's stop token is requested.
    void on_stop() noexcept {
        if (!exchange_active) {
            return;
        }
        stopped = true;
        abort_io();
    }

    void drop_connection() noexcept {
        if (plain || secure) {
            error_code ignored;
            lowest_layer().socket().shutdown(tcp::socket::shutdown_both, ignored);
            lowest_layer().socket().close(ignored);
        }
        secure.reset();
        plain.reset();
        buffer.clear();
        connected = false;
    }

    /// Describes a failed step, saying when the deadline or the stop token ended it.
    std::string failure(std::string_view step, const error_code& ec) const {
        if (stopped) {
            return std::string(step) + ": stopped";
        }
        if (timed_out) {
            return std::string(step) + ": timed out after " + std::to_string(timeout.count()) +
                   "ms";
        }
        return describe(step, ec);
    }

    /// Opens a fresh connection to the origin; returns an error text, empty on success.
    std::string connect() {
        drop_connection();

        // Resolve the host.
        // TODO: a DNS lookup cannot be interrupted (getaddrinfo runs on a helper thread), so a
        // hanging resolver can hold the sink past its timeout until the lookup itself gives up.
        std::optional<error_code> done;
        tcp::resolver::results_type endpoints;
        resolver.async_resolve(url.host, std::to_string(url.port),
                               [&](const error_code& ec, tcp::resolver::results_type results) {
                                   endpoints = std::move(results);
                                   done = ec;
                               });
        if (auto ec = wait(done)) {
            return failure("resolve", ec);
        }

        // Create the stream, with SNI and host name verification for https.
        if (url.tls) {
            secure.emplace(ioc, *tls_context);
            if (!is_ip_literal(url.host) &&
                SSL_set_tlsext_host_name(secure->native_handle(), url.host.c_str()) != 1) {
                return "tls: cannot set the server name " + url.host;
            }
            if (verify_tls && !expect_host_name()) {
                return "tls: cannot check the server name " + url.host;
            }
        } else {
            plain.emplace(ioc);
        }

        // Connect to the first endpoint that answers.
        done.reset();
        lowest_layer().async_connect(
            endpoints, [&](const error_code& ec, const tcp::endpoint&) { done = ec; });
        if (auto ec = wait(done)) {
            return failure("connect", ec);
        }
        error_code ignored;
        lowest_layer().socket().set_option(tcp::no_delay(true), ignored);

        // Handshake when the origin speaks TLS.
        if (secure) {
            done.reset();
            secure->async_handshake(ssl::stream_base::client,
                                    [&](const error_code& ec) { done = ec; });
            if (auto ec = wait(done)) {
                return handshake_failure(ec);
            }
        }
        connected = true;
        return {};
    }

    /// Sends the request and reads the answer on the current connection, opening one first.
    attempt_result attempt(const request& req) {
        attempt_result result;
        auto fail = [&](std::string error) {
            drop_connection();
            result.exchange.error = std::move(error);
            return result;
        };

        // Connect when no connection is kept.
        if (!connected) {
            if (auto error = connect(); !error.empty()) {
                return fail(std::move(error));
            }
        }

        // Send the request.
        std::optional<error_code> done;
        auto on_io = [&](const error_code& ec, std::size_t) { done = ec; };
        if (secure) {
            http::async_write(*secure, req, on_io);
        } else {
            http::async_write(*plain, req, on_io);
        }
        if (auto ec = wait(done)) {
            result.before_response = true;
            return fail(failure("write", ec));
        }

        // Read the head of the answer, passing over interim (1xx) answers such as 100 Continue
        // or 103 Early Hints: the final answer follows them on the same connection.
        std::optional<http::response_parser<http::string_body>> parser;
        for (bool first_head = true;; first_head = false) {
            parser.emplace();
            parser->body_limit(boost::none);  // bounded below: a large body is cut, not refused
            done.reset();
            if (secure) {
                http::async_read_header(*secure, buffer, *parser, on_io);
            } else {
                http::async_read_header(*plain, buffer, *parser, on_io);
            }
            if (auto ec = wait(done)) {
                result.before_response = first_head && !parser->got_some() && buffer.size() == 0;
                return fail(failure("read", ec));
            }
            const unsigned status = parser->get().result_int();
            if (status == 101) {
                // The server left HTTP for another protocol: nothing more here is an answer.
                return fail("unexpected answer: 101 Switching Protocols");
            }
            if (status >= 200 || status < 100) break;
        }

        // Read the body, stopping once there is more of it than anyone will look at.
        while (!parser->is_done() && parser->get().body().size() <= max_response_body) {
            done.reset();
            if (secure) {
                http::async_read_some(*secure, buffer, *parser, on_io);
            } else {
                http::async_read_some(*plain, buffer, *parser, on_io);
            }
            if (auto ec = wait(done)) {
                return fail(failure("read", ec));
            }
        }
        const bool cut_off = !parser->is_done();

        // Keep the connection only when the server lets us, the answer was read whole and
        // nothing unasked-for came after it: bytes left over would be taken for the answer to
        // the next request.
        const auto& res = parser->get();
        result.exchange.transport_ok = true;
        result.exchange.status = res.result_int();
        result.exchange.body = res.body().substr(0, kept_body_bytes);
        if (cut_off || !res.keep_alive() || buffer.size() > 0) {
            drop_connection();
        }
        return result;
    }

    /// Sends the request, once more on a fresh connection when a kept one turned out closed.
    http_exchange exchange(const request& req) {
        const bool reused = connected;
        auto first = attempt(req);
        if (first.exchange.transport_ok || !reused || !first.before_response || stopped ||
            timed_out) {
            return std::move(first.exchange);
        }

        // NOTE: the peer closed the kept connection before answering, which servers do when it
        // idled past their keep-alive timeout. Should it have taken the request after all, the
        // downstream sees it twice; X-Seshook-Id lets it recognise the repeat.
        return std::move(attempt(req).exchange);
    }

    http_url url;
    bool verify_tls;
    std::string host_header;
    asio::io_context ioc{1};
    std::optional<ssl::context> tls_context;
    tcp::resolver resolver{ioc};
    std::optional<beast::tcp_stream> plain;
    std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
    beast::flat_buffer buffer;
    bool connected = false;

    // The exchange in progress; touched on the caller's thread only.
    std::chrono::steady_clock::time_point deadline;
    std::chrono::milliseconds timeout{0};
    bool exchange_active = false;
    bool stopped = false;
    bool timed_out = false;
};

http_client::http_client(http_url url, tls_verification tls)
    : impl_(std::make_unique<impl>(std::move(url), tls)) {}

http_client::~http_client() = default;

http_exchange http_client::post(std::string_view body,
                                const std::map<std::string, std::string>& headers,
                                std::chrono::milliseconds timeout, std::stop_token stop) {
    auto& s = *impl_;
    http_exchange result;
    if (stop.stop_requested()) {
        result.error = "send: stopped";
        return result;
    }

    // Build the request once; a retry on a fresh connection sends the same bytes.
    impl::request req{http::verb::post, s.url.target, 11};
    req.set(http::field::host, s.host_header);
    req.set(http::field::user_agent, "seshook");
    req.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : headers) {
        if (name.empty() || forges_headers(name) || forges_headers(value)) {
            result.error = "request: header '" + name + "' contains a line break";
            return result;
        }
        req.set(name, value);
    }
    req.body() = std::string(body);
    req.keep_alive(true);
    req.prepare_payload();

    // Run the exchange; a stop request posts an abort onto the private io_context, the only
    // safe way to touch its sockets from the thread that requested the stop.
    s.deadline = std::chrono::steady_clock::now() + timeout;
    s.timeout = timeout;
    s.exchange_active = true;
    s.stopped = false;
    s.timed_out = false;
    {
        std::stop_callback on_stop(stop, [&s] { asio::post(s.ioc, [&s] { s.on_stop(); }); });
        result = s.exchange(req);
        s.exchange_active = false;
    }

    // Run an abort that was posted too late, now harmless, so it cannot reach the next exchange.
    s.ioc.restart();
    s.ioc.poll();
    return result;
}

void http_client::disconnect() noexcept { impl_->drop_connection(); }

}  // namespace seshook
