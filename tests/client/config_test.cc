// Kubeconfig loading and merging, in-cluster config, and the TLS material checks of Create().
#include "setpoint/client/config.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "setpoint/client/rest_client.h"
#include "test_certs.h"

namespace setpoint::client {
namespace {

namespace fs = std::filesystem;

std::string B64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("client_config_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }

  KubeconfigOptions env_only(std::string kubeconfig_env) {
    KubeconfigOptions o;
    o.kubeconfig_env = std::move(kubeconfig_env);
    o.home = dir_.string();
    o.ignore_environment = true;
    return o;
  }

  fs::path dir_;
};

const char* kFirst = R"(
apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://dev.example:6443
    certificate-authority: certs/ca.pem
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user, namespace: team-a}
users:
- name: dev-user
  user: {token: first-token}
)";

const char* kSecond = R"(
current-context: prod
clusters:
- name: dev-cluster
  cluster: {server: https://ignored.example}
- name: prod-cluster
  cluster: {server: http://127.0.0.1:8080, insecure-skip-tls-verify: true}
contexts:
- name: prod
  context: {cluster: prod-cluster, user: prod-user}
users:
- name: dev-user
  user: {token: ignored}
- name: prod-user
  user: {tokenFile: token.txt, client-certificate: /abs/cert.pem, client-key: key.pem}
)";

TEST_F(ConfigTest, ExplicitPathWithCurrentContextAndRelativePaths) {
  std::string f = write("a/config", kFirst);
  KubeconfigOptions o;
  o.path = f;
  auto c = LoadKubeconfig(o);
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  EXPECT_EQ(c->server, "https://dev.example:6443");
  EXPECT_EQ(c->ca_file, (dir_ / "a" / "certs/ca.pem").string());
  EXPECT_EQ(c->token, "first-token");
  EXPECT_EQ(c->namespace_, "team-a");
  EXPECT_FALSE(c->insecure_skip_tls_verify);
}

TEST_F(ConfigTest, KubeconfigListMergesFirstWins) {
  std::string a = write("a/config", kFirst);
  std::string b = write("b/config", kSecond);
  auto o = env_only(a + ":" + (dir_ / "missing").string() + ":" + b);
  auto c = LoadKubeconfig(o);
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  // current-context comes from the first file; dev-cluster and dev-user too.
  EXPECT_EQ(c->server, "https://dev.example:6443");
  EXPECT_EQ(c->token, "first-token");

  o.context = "prod";  // only the second file has it
  auto p = LoadKubeconfig(o);
  ASSERT_TRUE(p.has_value()) << p.error().to_string();
  EXPECT_EQ(p->server, "http://127.0.0.1:8080");
  EXPECT_TRUE(p->insecure_skip_tls_verify);
  EXPECT_EQ(p->namespace_, "default");
  EXPECT_EQ(p->token_file, (dir_ / "b" / "token.txt").string());
  EXPECT_EQ(p->cert_file, "/abs/cert.pem");
  EXPECT_EQ(p->key_file, (dir_ / "b" / "key.pem").string());

  // Reversed order: the second file's current-context and its dev-cluster win.
  auto r = LoadKubeconfig(env_only(b + ":" + a));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->server, "http://127.0.0.1:8080");
  o = env_only(b + ":" + a);
  o.context = "dev";
  auto rd = LoadKubeconfig(o);
  ASSERT_TRUE(rd.has_value());
  EXPECT_EQ(rd->server, "https://ignored.example");
  EXPECT_EQ(rd->token, "ignored");
}

TEST_F(ConfigTest, HomeDefaultAndInlineData) {
  std::string cfg = std::string(R"(
current-context: c
clusters:
- name: k
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: )") +
                    B64(testing::kTestCertPem) + R"(
users:
- name: u
  user:
    client-certificate-data: )" +
                    B64(testing::kTestCertPem) + R"(
    client-key-data: )" +
                    B64(testing::kTestKeyPem) + R"(
contexts:
- name: c
  context: {cluster: k, user: u}
)";
  write(".kube/config", cfg);
  auto c = LoadKubeconfig(env_only(""));
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  EXPECT_EQ(c->ca_data, testing::kTestCertPem);
  EXPECT_EQ(c->cert_data, testing::kTestCertPem);
  EXPECT_EQ(c->key_data, testing::kTestKeyPem);
  // The decoded material is usable: Create() builds a TLS context from it.
  auto client = RestClient::Create(*c);
  EXPECT_TRUE(client.has_value()) << client.error().to_string();
}

TEST_F(ConfigTest, ClearErrors) {
  KubeconfigOptions o;
  o.path = (dir_ / "nope").string();
  auto missing = LoadKubeconfig(o);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.error().message().find("nope"), std::string::npos);

  o.path = write("bad", "clusters: [unclosed\n");
  auto bad = LoadKubeconfig(o);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), StatusCode::kBadRequest);
  EXPECT_NE(bad.error().message().find("bad"), std::string::npos);

  o.path = write("shape", "clusters: {a: b}\n");
  EXPECT_EQ(LoadKubeconfig(o).error().code(), StatusCode::kBadRequest);

  o.path = write("ok", kFirst);
  o.context = "staging";
  auto unknown = LoadKubeconfig(o);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.error().message().find("\"staging\""), std::string::npos);

  o.path = write("nouser",
                 "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
                 "clusters: [{name: k, cluster: {server: 'http://x'}}]\n");
  o.context.clear();
  auto nouser = LoadKubeconfig(o);
  ASSERT_FALSE(nouser.has_value());
  EXPECT_NE(nouser.error().message().find("user \"u\""), std::string::npos);

  o.path = write("b64",
                 "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
                 "clusters: [{name: k, cluster: {server: 'https://x', certificate-authority-data: '!!!'}}]\n");
  EXPECT_EQ(LoadKubeconfig(o).error().code(), StatusCode::kBadRequest);

  EXPECT_EQ(LoadKubeconfig(env_only((dir_ / "x").string() + ":" + (dir_ / "y").string())).error().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(LoadKubeconfig(env_only("")).error().code(), StatusCode::kNotFound);  // no ~/.kube/config
}

TEST_F(ConfigTest, InClusterFromEnvironmentAndFiles) {
  InClusterOptions o;
  o.host = "10.0.0.1";
  o.port = "443";
  o.token_path = write("sa/token", "tok\n");
  o.ca_path = write("sa/ca.crt", testing::kTestCertPem);
  o.namespace_path = write("sa/namespace", "kube-system");
  auto c = InClusterConfig(o);
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  EXPECT_EQ(c->server, "https://10.0.0.1:443");
  EXPECT_EQ(c->token, "tok");
  EXPECT_EQ(c->ca_file, o.ca_path);
  EXPECT_EQ(c->namespace_, "kube-system");

  o.host = "fd00::1";
  EXPECT_EQ(InClusterConfig(o)->server, "https://[fd00::1]:443");

  o.token_path = (dir_ / "sa/none").string();
  auto no_token = InClusterConfig(o);
  ASSERT_FALSE(no_token.has_value());
  EXPECT_EQ(no_token.error().code(), StatusCode::kNotFound);
}

TEST_F(ConfigTest, CreateRejectsBadTlsMaterial) {
  RestConfig c;
  c.server = "https://127.0.0.1:1";
  c.ca_data = "not a pem";
  EXPECT_EQ(RestClient::Create(c).error().code(), StatusCode::kBadRequest);
  c.ca_data = testing::kTestCertPem;
  c.cert_data = testing::kTestCertPem;  // a certificate without its key
  EXPECT_EQ(RestClient::Create(c).error().code(), StatusCode::kBadRequest);
  c.key_data = "garbage";
  EXPECT_EQ(RestClient::Create(c).error().code(), StatusCode::kBadRequest);
  c.key_data = testing::kTestKeyPem;
  EXPECT_TRUE(RestClient::Create(c).has_value());
  c.ca_data.clear();
  c.ca_file = (dir_ / "missing-ca.pem").string();
  auto missing = RestClient::Create(c);
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message().find("missing-ca.pem"), std::string::npos);
  RestConfig plain;
  plain.server = "ftp://x";
  EXPECT_EQ(RestClient::Create(plain).error().code(), StatusCode::kBadRequest);
}

TEST(Base64Test, DecodesWithAndWithoutPadding) {
  EXPECT_EQ(*DecodeBase64("aGVsbG8="), "hello");
  EXPECT_EQ(*DecodeBase64("aGVsbG8"), "hello");
  EXPECT_EQ(*DecodeBase64("aGVs\nbG8h"), "hello!");
  EXPECT_FALSE(DecodeBase64("a$b").has_value());
}

}  // namespace
}  // namespace setpoint::client
