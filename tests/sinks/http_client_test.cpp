#include "seshook/sinks/http_client.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.hpp"
#include "support/tiny_http_receiver.hpp"

namespace seshook {
namespace {

using namespace std::chrono_literals;
using testing::received_request;
using testing::receiver_reply;
using testing::tiny_http_receiver;
using testing::tls_authority;
using testing::tls_identity;

// Generous bounds: they catch a hang, not a slow machine.
constexpr auto patience = 5s;

http_client client_for(const std::string& url, tls_verification tls = {}) {
    auto parsed = http_url::parse(url);
    EXPECT_TRUE(parsed.has_value()) << url;
    return http_client(parsed.value_or(http_url{}), std::move(tls));
}

// Checks nothing about the server's certificate.
const tls_verification unverified{false, ""};

// Trusts the authorities in `ca_pem` instead of the system's.
tls_verification trusting(std::string ca_pem) { return {true, std::move(ca_pem)}; }

http_exchange post(http_client& client, std::string_view body = R"({"event":"open"})",
                   std::chrono::milliseconds timeout = 5s) {
    return client.post(body, {}, timeout, std::stop_token{});
}

// Returns a whole HTTP/1.1 response with `status` and `body`, for a receiver's raw reply.
std::string raw_response(unsigned status, std::string_view body) {
    return "HTTP/1.1 " + std::to_string(status) + " Whatever\r\nContent-Type: text/plain\r\n" +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

// Returns a loopback port that nothing listens on (bound, then released).
std::uint16_t closed_port() {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor acceptor(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

// Points OpenSSL's default CA file at `path` for as long as it lives.
class trusted_ca_file {
public:
    explicit trusted_ca_file(const std::filesystem::path& path) {
        if (const char* old = std::getenv("SSL_CERT_FILE")) {
            old_ = old;
        }
        ::setenv("SSL_CERT_FILE", path.c_str(), 1);
    }
    ~trusted_ca_file() {
        if (old_) {
            ::setenv("SSL_CERT_FILE", old_->c_str(), 1);
        } else {
            ::unsetenv("SSL_CERT_FILE");
        }
    }

private:
    std::optional<std::string> old_;
};

TEST(HttpUrl, ParsesSchemesWithoutCaseAndDefaultPorts) {
    const auto plain = http_url::parse("HTTP://hooks.example.com");
    ASSERT_TRUE(plain);
    EXPECT_FALSE(plain->tls);
    EXPECT_EQ(plain->host, "hooks.example.com");
    EXPECT_EQ(plain->port, 80);
    EXPECT_EQ(plain->target, "/");

    const auto secure = http_url::parse("https://hooks.example.com/ses/events?src=seshook");
    ASSERT_TRUE(secure);
    EXPECT_TRUE(secure->tls);
    EXPECT_EQ(secure->port, 443);
    EXPECT_EQ(secure->target, "/ses/events?src=seshook");
}

TEST(HttpUrl, ParsesPortsAndBracketedIpv6) {
    const auto v4 = http_url::parse("http://127.0.0.1:8081/in");
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->host, "127.0.0.1");
    EXPECT_EQ(v4->port, 8081);
    EXPECT_EQ(v4->target, "/in");

    const auto v6 = http_url::parse("https://[2001:db8::1]:9443?x=1");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->host, "2001:db8::1");
    EXPECT_EQ(v6->port, 9443);
    EXPECT_EQ(v6->target, "/?x=1");
}

TEST(HttpUrl, StripsTheFragment) {
    const auto url = http_url::parse("http://example.com/a?b=1#part");
    ASSERT_TRUE(url);
    EXPECT_EQ(url->target, "/a?b=1");
}

TEST(HttpUrl, RefusesWhatIsNotAnAbsoluteHttpUrl) {
    for (const char* text :
         {"", "example.com/hook", "ftp://example.com/", "http://",
          "http://user:secret@example.com/", "http://example.com:0/", "http://example.com:65536/",
          "http://example.com:80x/", "http://[2001:db8::1/", "http://[not-an-address]/",
          "http://exa mple.com/", "http://example.com/a b"}) {
        EXPECT_FALSE(http_url::parse(text)) << text;
    }
}

TEST(HttpClient, PostsTheBodyAndReadsTheStatus) {
    tiny_http_receiver receiver(tiny_http_receiver::answer_always(202));
    auto client = client_for(receiver.url("/ses/in?k=v"));

    const auto exchange = client.post(R"({"event":"delivered"})", {{"X-Extra", "yes"}}, 5s, {});

    ASSERT_TRUE(exchange.transport_ok) << exchange.error;
    EXPECT_EQ(exchange.status, 202);
    EXPECT_EQ(exchange.body, R"({"ok":true})");
    const auto requests = receiver.requests();
    ASSERT_EQ(requests.size(), 1);
    const auto& request = requests.front();
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.target, "/ses/in?k=v");
    EXPECT_EQ(request.body, R"({"event":"delivered"})");
    EXPECT_EQ(request.header("Host"), "127.0.0.1:" + std::to_string(receiver.port()));
    EXPECT_EQ(request.header("Content-Type"), "application/json");
    EXPECT_EQ(request.header("Content-Length"), "21");
    EXPECT_EQ(request.header("User-Agent").rfind("seshook", 0), 0);
    EXPECT_EQ(request.header("X-Extra"), "yes");
}

TEST(HttpClient, ReusesOneConnectionForSeveralPosts) {
    tiny_http_receiver receiver;
    auto client = client_for(receiver.url());

    for (int i = 0; i < 4; ++i) {
        const auto exchange = post(client);
        ASSERT_TRUE(exchange.transport_ok) << exchange.error;
        EXPECT_EQ(exchange.status, 200);
    }

    EXPECT_EQ(receiver.request_count(), 4);
    EXPECT_EQ(receiver.connection_count(), 1);
}

TEST(HttpClient, ReconnectsWhenTheKeptConnectionWasClosed) {
    // The first answer looks kept alive, but the receiver closes the connection right after it,
    // as a server does when the connection idles past its keep-alive timeout.
    tiny_http_receiver receiver([](const received_request&, std::size_t index) {
        receiver_reply reply;
        reply.drop_after = index == 0;
        return reply;
    });
    auto client = client_for(receiver.url());
    ASSERT_TRUE(post(client).transport_ok);

    const auto second = post(client);

    ASSERT_TRUE(second.transport_ok) << second.error;
    EXPECT_EQ(second.status, 200);
    EXPECT_EQ(receiver.request_count(), 2);
    EXPECT_EQ(receiver.connection_count(), 2);
}

TEST(HttpClient, OpensANewConnectionAfterConnectionClose) {
    tiny_http_receiver receiver([](const received_request&, std::size_t) {
        receiver_reply reply;
        reply.close = true;
        return reply;
    });
    auto client = client_for(receiver.url());

    for (int i = 0; i < 2; ++i) {
        const auto exchange = post(client);
        ASSERT_TRUE(exchange.transport_ok) << exchange.error;
    }

    EXPECT_EQ(receiver.connection_count(), 2);
}

TEST(HttpClient, KeepsOnlyTheStartOfALargeBody) {
    tiny_http_receiver receiver([](const received_request&, std::size_t) {
        receiver_reply reply;
        reply.status = 500;
        reply.body = std::string(200 * 1024, 'x');
        return reply;
    });
    auto client = client_for(receiver.url());

    const auto first = post(client);
    const auto second = post(client);

    ASSERT_TRUE(first.transport_ok) << first.error;
    EXPECT_EQ(first.status, 500);
    EXPECT_EQ(first.body, std::string(512, 'x'));
    ASSERT_TRUE(second.transport_ok) << second.error;
    EXPECT_EQ(receiver.request_count(), 2);
}

TEST(HttpClient, SkipsInterimAnswersAndMatchesEachPostToItsOwnAnswer) {
    // Each request gets 100 Continue and 103 Early Hints before its final answer, whose status
    // and body tell the requests apart.
    const std::vector<unsigned> statuses{200, 422, 201};
    tiny_http_receiver receiver([&](const received_request& request, std::size_t index) {
        receiver_reply reply;
        reply.raw =
            "HTTP/1.1 100 Continue\r\n\r\n"
            "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" +
            raw_response(statuses[index % statuses.size()], "echo " + request.body);
        return reply;
    });
    auto client = client_for(receiver.url());

    for (std::size_t i = 0; i < 6; ++i) {
        const auto body = "post " + std::to_string(i);
        const auto exchange = post(client, body);
        ASSERT_TRUE(exchange.transport_ok) << exchange.error;
        EXPECT_EQ(exchange.status, statuses[i % statuses.size()]);
        EXPECT_EQ(exchange.body, "echo " + body);
    }

    EXPECT_EQ(receiver.request_count(), 6);
    EXPECT_EQ(receiver.connection_count(), 1);
}

TEST(HttpClient, FailsOnSwitchingProtocolsAndDropsTheConnection) {
    tiny_http_receiver receiver([](const received_request&, std::size_t index) {
        receiver_reply reply;
        if (index == 0) {
            reply.raw =
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\n\r\n\x81\x05"
                "hello";
        }
        return reply;
    });
    auto client = client_for(receiver.url());

    const auto first = post(client);
    const auto second = post(client);

    EXPECT_FALSE(first.transport_ok);
    EXPECT_NE(first.error.find("101"), std::string::npos) << first.error;
    ASSERT_TRUE(second.transport_ok) << second.error;
    EXPECT_EQ(second.status, 200);
    EXPECT_EQ(receiver.request_count(), 2);
    EXPECT_EQ(receiver.connection_count(), 2);
}

TEST(HttpClient, DropsAConnectionThatSentMoreThanOneAnswer) {
    // The first answer comes with a second one nobody asked for, in the same write; reading
    // it as the answer to the next request would mark that request with a stale status.
    tiny_http_receiver receiver([](const received_request& request, std::size_t index) {
        receiver_reply reply;
        reply.raw = raw_response(200, "echo " + request.body);
        if (index == 0) {
            reply.raw += raw_response(500, "stale");
        }
        return reply;
    });
    auto client = client_for(receiver.url());

    const auto first = post(client, "first");
    const auto second = post(client, "second");

    ASSERT_TRUE(first.transport_ok) << first.error;
    EXPECT_EQ(first.status, 200);
    EXPECT_EQ(first.body, "echo first");
    ASSERT_TRUE(second.transport_ok) << second.error;
    EXPECT_EQ(second.status, 200);
    EXPECT_EQ(second.body, "echo second");
    EXPECT_EQ(receiver.request_count(), 2);
    EXPECT_EQ(receiver.connection_count(), 2);
}

TEST(HttpClient, TimesOutWhenTheServerNeverAnswers) {
    tiny_http_receiver receiver(tiny_http_receiver::never_answer());
    auto client = client_for(receiver.url());

    const auto started = std::chrono::steady_clock::now();
    const auto exchange = post(client, "{}", 200ms);
    const auto took = std::chrono::steady_clock::now() - started;

    EXPECT_FALSE(exchange.transport_ok);
    EXPECT_NE(exchange.error.find("timed out"), std::string::npos) << exchange.error;
    EXPECT_GE(took, 150ms);
    EXPECT_LT(took, patience);
    EXPECT_EQ(receiver.request_count(), 1);
}

TEST(HttpClient, GivesUpEarlyWhenStopIsRequested) {
    tiny_http_receiver receiver(tiny_http_receiver::never_answer());
    auto client = client_for(receiver.url());
    std::stop_source stop;
    std::jthread stopper([&] {
        receiver.wait_for_requests(1, patience);
        stop.request_stop();
    });

    const auto started = std::chrono::steady_clock::now();
    const auto exchange = client.post("{}", {}, 60s, stop.get_token());

    EXPECT_FALSE(exchange.transport_ok);
    EXPECT_NE(exchange.error.find("stopped"), std::string::npos) << exchange.error;
    EXPECT_LT(std::chrono::steady_clock::now() - started, patience + 1s);
}

TEST(HttpClient, ReportsARefusedConnection) {
    auto client = client_for("http://127.0.0.1:" + std::to_string(closed_port()) + "/hook");

    const auto exchange = post(client);

    EXPECT_FALSE(exchange.transport_ok);
    EXPECT_EQ(exchange.error.rfind("connect:", 0), 0) << exchange.error;
    EXPECT_NE(exchange.error.find("refused"), std::string::npos) << exchange.error;
}

TEST(HttpClient, RefusesAHeaderThatWouldForgeAnother) {
    tiny_http_receiver receiver;
    auto client = client_for(receiver.url());

    const auto exchange = client.post("{}", {{"X-Note", "a\r\nX-Forged: 1"}}, 5s, {});

    EXPECT_FALSE(exchange.transport_ok);
    EXPECT_EQ(receiver.request_count(), 0);
}

TEST(HttpClient, HttpsRefusesAnUntrustedCertificateWhenVerifying) {
    tiny_http_receiver receiver(tls_identity::self_signed({"localhost", "127.0.0.1"}));
    auto client = client_for(receiver.url());

    const auto exchange = post(client);

    EXPECT_FALSE(exchange.transport_ok);
    EXPECT_EQ(exchange.error.rfind("tls handshake:", 0), 0) << exchange.error;
    EXPECT_NE(exchange.error.find("self-signed certificate"), std::string::npos) << exchange.error;
    EXPECT_EQ(receiver.request_count(), 0);
}

TEST(HttpClient, HttpsAcceptsAnyCertificateWhenNotVerifying) {
    tiny_http_receiver receiver(tls_identity::self_signed({"localhost", "127.0.0.1"}));
    auto client = client_for(receiver.url(), unverified);

    const auto first = post(client, R"({"event":"click"})");
    const auto second = post(client);

    ASSERT_TRUE(first.transport_ok) << first.error;
    EXPECT_EQ(first.status, 200);
    ASSERT_TRUE(second.transport_ok) << second.error;
    ASSERT_EQ(receiver.request_count(), 2);
    EXPECT_EQ(receiver.requests().front().body, R"({"event":"click"})");
    EXPECT_EQ(receiver.connection_count(), 1);
}

TEST(HttpClient, HttpsChecksTheHostNameOfATrustedCertificate) {
    // Both certificates are trusted; only the first names this host.
    const auto ours = tls_identity::self_signed({"localhost", "127.0.0.1"});
    const auto elsewhere = tls_identity::self_signed({"other.example.com"});
    const seshook::testing::temp_dir dir;
    std::ofstream(dir / "ca.pem") << ours.certificate_pem << elsewhere.certificate_pem;
    const trusted_ca_file trust(dir / "ca.pem");
    tiny_http_receiver receiver(ours);
    tiny_http_receiver impostor(elsewhere);
    const auto port = std::to_string(receiver.port());

    auto by_address = client_for("https://127.0.0.1:" + port + "/hook");
    auto by_name = client_for("https://LOCALHOST:" + port + "/hook");
    auto misnamed = client_for(impostor.url());
    const auto a = post(by_address);
    const auto b = post(by_name);
    const auto c = post(misnamed);

    ASSERT_TRUE(a.transport_ok) << a.error;
    ASSERT_TRUE(b.transport_ok) << b.error;
    EXPECT_FALSE(c.transport_ok);
    EXPECT_EQ(c.error.rfind("tls handshake:", 0), 0) << c.error;
    EXPECT_NE(c.error.find("IP address mismatch"), std::string::npos) << c.error;
    EXPECT_EQ(impostor.request_count(), 0);
}

TEST(HttpClient, HttpsTrustsAPrivateAuthorityItIsGiven) {
    const auto authority = tls_authority::create();
    tiny_http_receiver receiver(authority.issue({"127.0.0.1"}));
    auto client = client_for(receiver.url(), trusting(authority.certificate_pem));

    const auto exchange = post(client, R"({"event":"open"})");

    ASSERT_TRUE(exchange.transport_ok) << exchange.error;
    EXPECT_EQ(exchange.status, 200);
    ASSERT_EQ(receiver.request_count(), 1);
    EXPECT_EQ(receiver.requests().front().body, R"({"event":"open"})");
}

TEST(HttpClient, HttpsSaysWhyTheSystemStoreRefusesAPrivateAuthority) {
    const auto authority = tls_authority::create();
    tiny_http_receiver receiver(authority.issue({"127.0.0.1"}));
    auto client = client_for(receiver.url());

    const auto exchange = post(client);

    EXPECT_FALSE(exchange.transport_ok);
    EXPECT_EQ(exchange.error.rfind("tls handshake:", 0), 0) << exchange.error;
    EXPECT_NE(exchange.error.find("unable to get local issuer certificate"), std::string::npos)
        << exchange.error;
    EXPECT_EQ(receiver.request_count(), 0);
}

TEST(HttpClient, HttpsTrustsOnlyTheGivenAuthoritiesNotTheSystems) {
    // The system store trusts the authority of `theirs`; the client is given only `ours`.
    const auto ours = tls_authority::create("our CA");
    const auto theirs = tls_authority::create("their CA");
    const seshook::testing::temp_dir dir;
    std::ofstream(dir / "system.pem") << theirs.certificate_pem;
    const trusted_ca_file trust(dir / "system.pem");
    tiny_http_receiver outsider(theirs.issue({"127.0.0.1"}));

    auto by_system = client_for(outsider.url());
    auto by_ours = client_for(outsider.url(), trusting(ours.certificate_pem));
    const auto a = post(by_system);
    const auto b = post(by_ours);

    ASSERT_TRUE(a.transport_ok) << a.error;
    EXPECT_FALSE(b.transport_ok);
    EXPECT_NE(b.error.find("unable to get local issuer certificate"), std::string::npos) << b.error;
    EXPECT_EQ(outsider.request_count(), 1);
}

TEST(HttpClient, HttpsRefusesACertificateOfItsAuthorityForAnotherHost) {
    const auto authority = tls_authority::create();
    tiny_http_receiver by_address(authority.issue({"127.0.0.2", "downstream.example.com"}));
    auto address_client = client_for(by_address.url(), trusting(authority.certificate_pem));
    tiny_http_receiver by_name(authority.issue({"downstream.example.com"}));
    auto name_client = client_for("https://localhost:" + std::to_string(by_name.port()) + "/hook",
                                  trusting(authority.certificate_pem));

    const auto a = post(address_client);
    const auto b = post(name_client);

    EXPECT_FALSE(a.transport_ok);
    EXPECT_NE(a.error.find("IP address mismatch"), std::string::npos) << a.error;
    EXPECT_FALSE(b.transport_ok);
    EXPECT_NE(b.error.find("hostname mismatch"), std::string::npos) << b.error;
    EXPECT_EQ(by_address.request_count(), 0);
    EXPECT_EQ(by_name.request_count(), 0);
}

TEST(HttpClient, RefusesACaBundleWithoutCertificates) {
    const auto parsed = http_url::parse("https://127.0.0.1:9/hook");
    ASSERT_TRUE(parsed);
    EXPECT_THROW(http_client(*parsed, trusting("not a certificate")), boost::system::system_error);
}

TEST(CaBundleProblem, AcceptsPemCertificatesAndSaysWhatElseIsWrong) {
    const auto a = tls_authority::create("a");
    const auto b = tls_authority::create("b");
    EXPECT_EQ(ca_bundle_problem(a.certificate_pem), "");
    EXPECT_EQ(ca_bundle_problem("# our CAs\n" + a.certificate_pem + b.certificate_pem), "");

    EXPECT_EQ(ca_bundle_problem(""), "holds no PEM certificate");
    EXPECT_EQ(ca_bundle_problem(a.private_key_pem), "holds no PEM certificate");
    EXPECT_THAT(ca_bundle_problem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
                ::testing::StartsWith("holds a certificate that cannot be read: "));
}

}  // namespace
}  // namespace seshook
