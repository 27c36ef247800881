// End to end: HTTPS. Events posted over TLS with a verified chain, plain and TLS listeners side
// by side, old protocol versions refused, silent and garbage clients cut off, and the
// certificate reloaded on SIGHUP without dropping open connections.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "integration/integration_helpers.hpp"
#include "support/test_certificates.hpp"
#include "support/tls_client.hpp"

namespace seshook::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// The serial numbers of the certificates the tests serve, as the client reads them (hex).
constexpr long first_serial = 0x51;
constexpr long second_serial = 0x52;

void write_text(const std::filesystem::path& path, std::string_view text) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Runs the daemon with a certificate for "localhost" issued by a CA made for the test, and
// connects as a client that trusts that CA alone.
class Tls : public daemon_test {
protected:
    Tls() { issue({"localhost", "127.0.0.1"}, first_serial).write(cert_file(), key_file()); }

    /// Issues a server certificate as public authorities do: signed by an intermediate, whose
    /// certificate follows the server's in the chain (as in certbot's fullchain.pem).
    tls_identity issue(const std::vector<std::string>& names, long serial) const {
        auto identity = intermediate_.issue(names, serial);
        identity.certificate_pem += intermediate_.certificate_pem;
        return identity;
    }

    std::filesystem::path cert_file() const { return certs_ / "fullchain.pem"; }
    std::filesystem::path key_file() const { return certs_ / "privkey.pem"; }

    /// Returns options with a [tls] table naming the test's files, plus `extra` lines.
    daemon_options with_tls(const std::string& extra = "") const {
        daemon_options options;
        options.tls_toml = "cert_file = \"" + cert_file().string() + "\"\nkey_file = \"" +
                           key_file().string() + "\"\n" + extra;
        return options;
    }

    /// Returns a client that verifies the chain against the test's CA and the name localhost.
    tls_client_options verifying_client() const {
        tls_client_options options;
        options.trusted_root_pem = root_.certificate_pem;
        return options;
    }

    /// Posts event `n` over a fresh TLS connection and returns the status.
    unsigned post_over_tls(std::size_t n) {
        return tls_post_once(daemon_->tls_port(), verifying_client(), "/callback", sample_event(n))
            .status;
    }

    temp_dir certs_;
    const tls_authority root_ = tls_authority::create("seshook test root CA");
    const tls_authority intermediate_ = root_.issue_authority("seshook test intermediate CA");
};

std::string hex(long serial) {
    char text[32];
    std::snprintf(text, sizeof text, "%02lX", static_cast<unsigned long>(serial));
    return text;
}

TEST_F(Tls, AcceptsAnEventOverAVerifiedChain) {
    auto& daemon = start_daemon(with_tls());
    ASSERT_NE(daemon.tls_port(), 0);

    // The client checks the chain (leaf, then the intermediate the daemon sends) up to the CA.
    tls_connection client(daemon.tls_port(), verifying_client());
    EXPECT_EQ(client.peer_serial(), hex(first_serial));
    EXPECT_EQ(client.peer_common_name(), "localhost");
    client.send(make_post("/callback", sample_event(1)));
    const auto response = client.read_response();
    EXPECT_EQ(response.status, 200u) << response.body;

    // The event reached the sink like one posted over plain HTTP.
    const auto lines = wait_for_json_lines(daemon.events_path(), 1, 5s);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0]["payload"]["email"], "user1@example.com");
    EXPECT_EQ(lines[0]["peer"], "127.0.0.1");
}

TEST_F(Tls, PlainAndTlsListenersServeSideBySide) {
    auto& daemon = start_daemon(with_tls());
    ASSERT_NE(daemon.port(), 0);
    ASSERT_NE(daemon.tls_port(), 0);
    EXPECT_NE(daemon.port(), daemon.tls_port());

    EXPECT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(1))).status, 200u);
    EXPECT_EQ(post_over_tls(2), 200u);
    EXPECT_EQ(send_once(daemon.port(), make_post("/callback", sample_event(3))).status, 200u);
    EXPECT_EQ(wait_for_json_lines(daemon.events_path(), 3, 5s).size(), 3u);

    // Each listener speaks only its own protocol: TLS on the plain port fails, and plain HTTP
    // on the TLS port gets no HTTP answer.
    EXPECT_THAT(tls_handshake_error(daemon.port(), verifying_client()), Not(IsEmpty()));
    raw_connection plain_on_tls(daemon.tls_port());
    plain_on_tls.send(make_post("/callback", sample_event(4)));
    EXPECT_TRUE(plain_on_tls.wait_closed(5s));
    EXPECT_EQ(read_json_lines(daemon.events_path()).size(), 3u);
}

TEST_F(Tls, EmptyServerListenServesHttpsOnly) {
    auto options = with_tls();
    options.listen = "";
    auto& daemon = start_daemon(options);
    EXPECT_EQ(daemon.port(), 0);
    EXPECT_TRUE(daemon.log_contains("[server] plain HTTP off, HTTPS only"));
    EXPECT_EQ(post_over_tls(1), 200u);
}

TEST_F(Tls, RefusesTls11EvenWhenTheCipherListWouldAllowIt) {
    // The cipher list lowers OpenSSL's security level to nothing, which alone would let
    // TLS 1.1 through; the minimum version still holds.
    auto& daemon = start_daemon(with_tls("ciphers = \"ALL:@SECLEVEL=0\"\n"));
    auto old_client = verifying_client();
    old_client.legacy = true;
    old_client.only = tls_protocol::tls1_1;
    EXPECT_THAT(tls_handshake_error(daemon.tls_port(), old_client), Not(IsEmpty()));

    // The same client limited to TLS 1.2 gets in: the refusal was the version's.
    old_client.only = tls_protocol::tls1_2;
    EXPECT_EQ(tls_handshake_error(daemon.tls_port(), old_client), "");
}

TEST_F(Tls, MinVersion13RefusesATls12Client) {
    auto& daemon = start_daemon(with_tls("min_version = \"1.3\"\n"));
    auto client = verifying_client();
    client.only = tls_protocol::tls1_2;
    EXPECT_THAT(tls_handshake_error(daemon.tls_port(), client), Not(IsEmpty()));

    client.only = tls_protocol::tls1_3;
    tls_connection modern(daemon.tls_port(), client);
    EXPECT_EQ(modern.protocol(), "TLSv1.3");
}

TEST_F(Tls, DefaultMinimumAcceptsTls12WithAModernCipher) {
    auto& daemon = start_daemon(with_tls());
    auto client = verifying_client();
    client.only = tls_protocol::tls1_2;
    tls_connection connection(daemon.tls_port(), client);
    EXPECT_EQ(connection.protocol(), "TLSv1.2");
    connection.send(make_post("/callback", sample_event(1)));
    EXPECT_EQ(connection.read_response().status, 200u);
}

TEST_F(Tls, ResumesASessionFromItsTicket) {
    auto& daemon = start_daemon(with_tls());
    for (const auto version : {tls_protocol::tls1_2, tls_protocol::tls1_3}) {
        auto client = verifying_client();
        client.only = version;
        tls_connection first(daemon.tls_port(), client);
        first.send(make_post("/callback", sample_event(1)));
        ASSERT_EQ(first.read_response().status, 200u);
        EXPECT_FALSE(first.resumed());

        // The next connection skips the full handshake, with no session kept by the daemon.
        client.resume = first.session();
        tls_connection second(daemon.tls_port(), client);
        EXPECT_TRUE(second.resumed()) << second.protocol();
        second.send(make_post("/callback", sample_event(2)));
        EXPECT_EQ(second.read_response().status, 200u);
    }
}

TEST_F(Tls, SilentAndGarbageClientsAreCutOffWhileServingGoesOn) {
    auto options = with_tls();
    options.server_toml = "request_timeout = \"1s\"";
    options.log_level = "debug";
    auto& daemon = start_daemon(options);

    // One connects and never starts the handshake; one sends bytes that are not TLS.
    raw_connection silent(daemon.tls_port());
    raw_connection garbage(daemon.tls_port());
    garbage.send(std::string("\x16\x03\x01\x00\x05hello", 10) + std::string(64, '\xff'));
    EXPECT_TRUE(garbage.wait_closed(5s));
    EXPECT_TRUE(silent.wait_closed(10s));

    // Both were logged at debug and counted, and the daemon still serves.
    EXPECT_TRUE(daemon.wait_for_log("tls handshake with 127.0.0.1 failed", 5s));
    EXPECT_EQ(post_over_tls(1), 200u);
    daemon.send_signal(SIGTERM);
    EXPECT_EQ(daemon.wait_exit(15s), 0);
    EXPECT_TRUE(daemon.log_contains("[tls] failed handshakes: 2")) << daemon.log_text();
}

TEST_F(Tls, ConnectionsPastTheCapCannotHoldSlotsByStallingTheHandshake) {
    auto options = with_tls();
    options.server_toml =
        "max_connections = 8\nmax_connections_per_client = 2\n"
        "header_timeout = \"5s\"";
    auto& daemon = start_daemon(options);

    // One client takes its two slots on the HTTPS port, then opens many more connections and
    // never starts the handshake on any of them.
    std::vector<std::unique_ptr<raw_connection>> stalled;
    for (int i = 0; i < 12; ++i) {
        stalled.push_back(std::make_unique<raw_connection>(daemon.tls_port()));
    }

    // The refused ones are closed at once, not held until the header timeout...
    for (std::size_t i = 2; i < stalled.size(); ++i) {
        EXPECT_TRUE(stalled[i]->wait_closed(2s)) << "connection " << i;
    }

    // ...so that, while the first two still stall, another client finds a free slot.
    raw_connection other(daemon.port(), "127.0.0.2");
    other.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(other.read_response().status, 200u);
}

TEST_F(Tls, SigtermEndsAnIdleTlsConnectionWithCloseNotify) {
    auto& daemon = start_daemon(with_tls());
    tls_connection idle(daemon.tls_port(), verifying_client());
    idle.send(make_post("/callback", sample_event(1)));
    ASSERT_EQ(idle.read_response().status, 200u);

    // The client sees the end of the TLS session (not only of TCP), and the daemon stops in
    // time although the client never answers the close_notify.
    daemon.send_signal(SIGTERM);
    EXPECT_EQ(idle.wait_end(5s), tls_ending::close_notify);
    EXPECT_EQ(daemon.wait_exit(15s), 0);
    EXPECT_FALSE(daemon.log_contains("still open at the end of the grace period"));
}

TEST_F(Tls, SighupServesTheNewCertificateAndKeepsOpenConnections) {
    auto& daemon = start_daemon(with_tls());

    // A kept-alive connection from before the reload.
    tls_connection before(daemon.tls_port(), verifying_client());
    before.send(make_post("/callback", sample_event(1)));
    ASSERT_EQ(before.read_response().status, 200u);
    ASSERT_EQ(before.peer_serial(), hex(first_serial));

    // The certificate is renewed at the same paths, then the daemon is told.
    issue({"localhost", "127.0.0.1"}, second_serial).write(cert_file(), key_file());
    daemon.send_signal(SIGHUP);
    ASSERT_TRUE(daemon.wait_for_log("[tls] reloaded", 5s)) << daemon.log_text();

    // New connections get the new one; the old connection is still served.
    tls_connection after(daemon.tls_port(), verifying_client());
    EXPECT_EQ(after.peer_serial(), hex(second_serial));
    after.send(make_post("/callback", sample_event(2)));
    EXPECT_EQ(after.read_response().status, 200u);
    before.send(make_post("/callback", sample_event(3)));
    EXPECT_EQ(before.read_response().status, 200u);
    EXPECT_EQ(wait_for_json_lines(daemon.events_path(), 3, 5s).size(), 3u);
}

TEST_F(Tls, BrokenReplacementIsRefusedAndTheOldCertificateStays) {
    auto& daemon = start_daemon(with_tls());

    // A certificate file cut short in the middle of a renewal.
    write_text(cert_file(), "-----BEGIN CERTIFICATE-----\nMIIC\n");
    daemon.send_signal(SIGHUP);
    ASSERT_TRUE(daemon.wait_for_log("tls.cert_file", 5s)) << daemon.log_text();
    EXPECT_TRUE(daemon.log_contains("error [tls] cannot reload the certificate"));
    EXPECT_TRUE(daemon.log_contains(cert_file().string()));
    {
        tls_connection client(daemon.tls_port(), verifying_client());
        EXPECT_EQ(client.peer_serial(), hex(first_serial));
    }

    // A new certificate beside the old key: the pair does not match.
    write_text(cert_file(), issue({"localhost"}, second_serial).certificate_pem);
    daemon.send_signal(SIGHUP);
    ASSERT_TRUE(daemon.wait_for_log("does not belong to the certificate", 5s)) << daemon.log_text();
    tls_connection client(daemon.tls_port(), verifying_client());
    EXPECT_EQ(client.peer_serial(), hex(first_serial));
    client.send(make_post("/callback", sample_event(1)));
    EXPECT_EQ(client.read_response().status, 200u);
}

TEST_F(Tls, CheckConfigLoadsTheCertificateAndKey) {
    const temp_dir dir;
    const auto config = [&](const std::filesystem::path& key) {
        const auto path = dir / "seshook.toml";
        write_text(path, "[tls]\nlisten = \"127.0.0.1:0\"\ncert_file = \"" + cert_file().string() +
                             "\"\nkey_file = \"" + key.string() +
                             "\"\n[[sinks]]\ntype = \"log\"\nname = \"log\"\n");
        return path.string();
    };
    EXPECT_EQ(run_seshook({"--check-config", "--config", config(key_file())}, dir.path()).exit_code,
              0);

    // A key of another certificate: caught by the check, and at start.
    write_text(dir / "other.pem", issue({"localhost"}, 9).private_key_pem);
    for (const bool check_only : {true, false}) {
        std::vector<std::string> arguments{"--config", config(dir / "other.pem")};
        if (check_only) arguments.push_back("--check-config");
        const auto result = run_seshook(arguments, dir.path());
        EXPECT_EQ(result.exit_code, 1) << check_only;
        EXPECT_THAT(result.err, HasSubstr("tls.key_file: the key in")) << result.err;
        EXPECT_THAT(result.err, Not(HasSubstr("PRIVATE KEY"))) << result.err;
    }
}

}  // namespace
}  // namespace seshook::testing
