// HTTPS end to end: a small OpenSSL server with the test certificate; the client verifies it by
// CA data, presents a client certificate and a bearer token, and reuses the TLS connection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "setpoint/client/rest_client.h"
#include "test_certs.h"
#include "testing/envs.h"

namespace setpoint::client {
namespace {

// Answers every request with 200 and a body that says what it saw: the client certificate's
// subject (or "none") and the Authorization header.
class TlsServer {
 public:
  explicit TlsServer(bool require_client_cert) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    BIO* cert_bio = BIO_new_mem_buf(testing::kTestCertPem, -1);
    X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
    BIO* key_bio = BIO_new_mem_buf(testing::kTestKeyPem, -1);
    EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
    SSL_CTX_use_certificate(ctx_, cert);
    SSL_CTX_use_PrivateKey(ctx_, key);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), cert);
    SSL_CTX_set_verify(ctx_, require_client_cert ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER,
                       nullptr);
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(cert_bio);
    BIO_free(key_bio);

    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    accept_ = std::thread([this] {
      for (int c; (c = ::accept(fd_, nullptr, nullptr)) >= 0;) {
        connections_++;
        std::lock_guard lock(mu_);
        conns_.push_back(c);
        threads_.emplace_back([this, c] { serve(c); });
      }
    });
  }

  ~TlsServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    accept_.join();
    {
      std::lock_guard lock(mu_);
      for (int c : conns_) ::shutdown(c, SHUT_RDWR);
    }
    for (auto& t : threads_) t.join();
    for (int c : conns_) ::close(c);
    SSL_CTX_free(ctx_);
  }

  unsigned short port() const { return port_; }
  int connections() const { return connections_.load(); }

 private:
  void serve(int fd) {
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
      std::string subject = "none";
      if (X509* peer = SSL_get_peer_certificate(ssl)) {
        char buf[256];
        X509_NAME_oneline(X509_get_subject_name(peer), buf, sizeof buf);
        subject = buf;
        X509_free(peer);
      }
      std::string in;
      char buf[4096];
      for (;;) {
        std::size_t end;
        while ((end = in.find("\r\n\r\n")) == std::string::npos) {
          int n = SSL_read(ssl, buf, sizeof buf);
          if (n <= 0) goto done;
          in.append(buf, static_cast<std::size_t>(n));
        }
        std::string head = in.substr(0, end);
        in.erase(0, end + 4);  // the tests send no bodies over TLS
        std::string auth;
        if (auto p = head.find("Authorization: "); p != std::string::npos)
          auth = head.substr(p + 15, head.find("\r\n", p) - p - 15);
        std::string body = subject + "|" + auth;
        std::string out = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        if (SSL_write(ssl, out.data(), static_cast<int>(out.size())) <= 0) break;
      }
    }
  done:
    SSL_free(ssl);
  }

  SSL_CTX* ctx_;
  int fd_;
  unsigned short port_ = 0;
  std::atomic<int> connections_{0};
  std::thread accept_;
  std::mutex mu_;
  std::vector<int> conns_;
  std::vector<std::thread> threads_;
};

RestConfig TlsConfig(const std::string& host, unsigned short port) {
  RestConfig c;
  c.server = "https://" + host + ":" + std::to_string(port);
  c.ca_data = testing::kTestCertPem;
  c.cert_data = testing::kTestCertPem;
  c.key_data = testing::kTestKeyPem;
  c.token = "t0ken";
  c.timeout = std::chrono::seconds(5);
  return c;
}

RestClientOptions NoWait() {
  RestClientOptions o;
  o.env = std::make_shared<setpoint::testing::ScriptedEnv>();  // retries without waiting
  o.retry.max_attempts = 2;
  return o;
}

TEST(TlsTest, VerifiesServerPresentsClientCertAndReusesConnection) {
  TlsServer server(/*require_client_cert=*/true);
  for (const char* host : {"127.0.0.1", "localhost"}) {
    auto client = RestClient::Create(TlsConfig(host, server.port()));
    ASSERT_TRUE(client.has_value()) << client.error().to_string();
    for (int i = 0; i < 3; ++i) {
      auto r = (*client)->request(Method::kGet, "/version");
      ASSERT_TRUE(r.has_value()) << host << ": " << r.error().to_string();
      EXPECT_EQ(r->body, "/CN=127.0.0.1|Bearer t0ken");
    }
    EXPECT_EQ((*client)->connections_opened(), 1u) << host;
  }
}

TEST(TlsTest, UntrustedServerFailsUnlessVerificationIsSkipped) {
  TlsServer server(/*require_client_cert=*/false);
  RestConfig c = TlsConfig("127.0.0.1", server.port());
  c.ca_data.clear();  // system roots do not know the test CA
  auto strict = RestClient::Create(c, NoWait());
  ASSERT_TRUE(strict.has_value());
  auto refused = (*strict)->request(Method::kGet, "/version");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kUnavailable);

  c.insecure_skip_tls_verify = true;
  auto lax = RestClient::Create(c, NoWait());
  ASSERT_TRUE(lax.has_value());
  EXPECT_TRUE((*lax)->request(Method::kGet, "/version").has_value());
}

TEST(TlsTest, ServerRequiringClientCertRejectsAnonymousClient) {
  TlsServer server(/*require_client_cert=*/true);
  RestConfig c = TlsConfig("127.0.0.1", server.port());
  c.cert_data.clear();
  c.key_data.clear();
  auto client = RestClient::Create(c, NoWait());
  ASSERT_TRUE(client.has_value());
  auto r = (*client)->request(Method::kGet, "/version");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace setpoint::client
