#include "api/validation_core.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace setpoint::api {
namespace {

namespace json = boost::json;
using testing::J;

constexpr const char* kKeyRegexMsg =
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  "
    "or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

json::object O(std::string_view text) { return J(text).as_object(); }

// "field: message" of every cause, in order.
std::vector<std::string> Render(const std::vector<StatusCause>& causes) {
  std::vector<std::string> out;
  for (const auto& c : causes) out.push_back(c.field + ": " + c.message);
  return out;
}

std::vector<std::string> ConfigMapErrors(std::string_view obj, std::string_view old = "") {
  std::vector<StatusCause> causes;
  json::object o = O(obj);
  json::object prev = old.empty() ? json::object() : O(old);
  ValidateConfigMap(o, old.empty() ? nullptr : &prev, causes);
  return Render(causes);
}

std::vector<std::string> SecretErrors(std::string_view obj, std::string_view old = "") {
  std::vector<StatusCause> causes;
  json::object o = O(obj);
  json::object prev = old.empty() ? json::object() : O(old);
  ValidateSecret(o, old.empty() ? nullptr : &prev, causes);
  return Render(causes);
}

TEST(ConfigMapKeyTest, FollowsUpstreamRules) {
  for (std::string_view good : {"a", "A_b-c.d", "key.name", ".hidden", "a..b", "0", "-", "_x_"})
    EXPECT_TRUE(IsConfigMapKey(good).empty()) << good;
  EXPECT_TRUE(IsConfigMapKey(std::string(253, 'a')).empty());
  EXPECT_EQ(IsConfigMapKey(std::string(254, 'a')), std::vector<std::string>{"must be no more than 253 characters"});
  EXPECT_EQ(IsConfigMapKey("a b"), std::vector<std::string>{kKeyRegexMsg});
  EXPECT_EQ(IsConfigMapKey(""), std::vector<std::string>{kKeyRegexMsg});
  EXPECT_EQ(IsConfigMapKey("a/b"), std::vector<std::string>{kKeyRegexMsg});
  EXPECT_EQ(IsConfigMapKey("."), std::vector<std::string>{"must not be '.'"});
  EXPECT_EQ(IsConfigMapKey(".."), std::vector<std::string>{"must not be '..'"});
  EXPECT_EQ(IsConfigMapKey("..a"), std::vector<std::string>{"must not start with '..'"});
}

TEST(GoBase64Test, DecodesAsGoStdEncoding) {
  EXPECT_EQ(*DecodeGoBase64(""), "");
  EXPECT_EQ(*DecodeGoBase64("YQ=="), "a");
  EXPECT_EQ(*DecodeGoBase64("YWI="), "ab");
  EXPECT_EQ(*DecodeGoBase64("YWJj"), "abc");
  EXPECT_EQ(*DecodeGoBase64("YW\r\nJj\n"), "abc");  // newlines are ignored
  EXPECT_EQ(*DecodeGoBase64("YR=="), "a");          // non-zero trailing bits are accepted (not Strict)
  EXPECT_EQ(*DecodeGoBase64(std::string("AAEC/w==")), std::string("\x00\x01\x02\xff", 4));
  auto error = [](std::string_view in) {
    auto r = DecodeGoBase64(in);
    return r ? std::string("ok") : r.error().message();
  };
  EXPECT_EQ(error("!!"), "illegal base64 data at input byte 0");
  EXPECT_EQ(error("YQ"), "illegal base64 data at input byte 0");  // padding is required
  EXPECT_EQ(error("YWJjY"), "illegal base64 data at input byte 4");
  EXPECT_EQ(error("YQ="), "illegal base64 data at input byte 3");
  EXPECT_EQ(error("YWJj="), "illegal base64 data at input byte 4");
  EXPECT_EQ(error("YQ==YQ=="), "illegal base64 data at input byte 4");  // trailing garbage
  EXPECT_EQ(error("YW-j"), "illegal base64 data at input byte 2");      // URL alphabet is not standard
  EXPECT_EQ(error("Y==="), "illegal base64 data at input byte 1");
}

TEST(NormalizeConfigMapTest, DropsUnknownFieldsAndCanonicalisesBinaryData) {
  json::object cm = O(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","extra":1},
    "spec":{"x":1},"data":{"k":"v","n":null},"binaryData":{"b":"AA\nEC"},"immutable":null,"status":{}})");
  std::vector<std::string> unknown;
  ASSERT_TRUE(NormalizeConfigMap(cm, &unknown).ok());
  EXPECT_EQ(unknown, (std::vector<std::string>{"spec", "status"}));
  EXPECT_EQ(json::value(cm), J(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","extra":1},
    "data":{"k":"v","n":""},"binaryData":{"b":"AAEC"}})"));
  json::object empty = O(R"({"data":{},"binaryData":null,"immutable":false})");
  ASSERT_TRUE(NormalizeConfigMap(empty, nullptr).ok());
  EXPECT_EQ(json::value(empty), J(R"({"immutable":false})"));  // a set false is kept, as *bool is
}

TEST(NormalizeConfigMapTest, WrongTypesAndBadBase64AreDecodeErrors) {
  auto error = [](std::string_view text) {
    json::object o = O(text);
    Status s = NormalizeConfigMap(o, nullptr);
    EXPECT_EQ(s.code(), s.ok() ? StatusCode::kOk : StatusCode::kBadRequest);
    return s.ok() ? std::string("ok") : s.message();
  };
  const std::string prefix = "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: ";
  EXPECT_EQ(error(R"({"data":{"a":1}})"),
            prefix + "json: cannot unmarshal number into Go struct field ConfigMap.data of type string");
  EXPECT_EQ(error(R"({"data":"x"})"),
            prefix + "json: cannot unmarshal string into Go struct field ConfigMap.data of type map[string]string");
  EXPECT_EQ(error(R"({"binaryData":{"a":true}})"),
            prefix + "json: cannot unmarshal bool into Go struct field ConfigMap.binaryData of type []uint8");
  EXPECT_EQ(error(R"({"immutable":"true"})"),
            prefix + "json: cannot unmarshal string into Go struct field ConfigMap.immutable of type bool");
  EXPECT_EQ(error(R"({"binaryData":{"a":"not base64"}})"), prefix + "illegal base64 data at input byte 3");
  // The first problem in document order wins.
  EXPECT_EQ(error(R"({"immutable":1,"data":{"a":1}})"),
            prefix + "json: cannot unmarshal number into Go struct field ConfigMap.immutable of type bool");
}

TEST(NormalizeSecretTest, MergesStringDataAndDefaultsType) {
  json::object s = O(R"({"kind":"Secret","data":{"k":"b2xk","keep":"eA=="},"stringData":{"k":"new","plain":"text"}})");
  ASSERT_TRUE(NormalizeSecret(s, nullptr).ok());
  EXPECT_EQ(json::value(s),
            J(R"({"kind":"Secret","data":{"k":"bmV3","keep":"eA==","plain":"dGV4dA=="},"type":"Opaque"})"));
  json::object only = O(R"({"stringData":{"a":""},"type":""})");
  ASSERT_TRUE(NormalizeSecret(only, nullptr).ok());
  EXPECT_EQ(json::value(only), J(R"({"type":"Opaque","data":{"a":""}})"));
  json::object typed = O(R"({"type":"kubernetes.io/tls","bogus":1})");
  std::vector<std::string> unknown;
  ASSERT_TRUE(NormalizeSecret(typed, &unknown).ok());
  EXPECT_EQ(unknown, std::vector<std::string>{"bogus"});
  EXPECT_EQ(json::value(typed), J(R"({"type":"kubernetes.io/tls"})"));
  json::object bad = O(R"({"data":{"k":"x"}})");
  EXPECT_EQ(NormalizeSecret(bad, nullptr).message(),
            "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data at input byte 0");
  json::object bad_type = O(R"({"type":5})");
  EXPECT_EQ(
      NormalizeSecret(bad_type, nullptr).message(),
      "Secret in version \"v1\" cannot be handled as a Secret: json: cannot unmarshal number into Go struct field "
      "Secret.type of type v1.SecretType");
}

TEST(ValidateConfigMapTest, KeysDuplicatesAndSize) {
  EXPECT_TRUE(ConfigMapErrors(R"({"data":{"a":"1"},"binaryData":{"b":"AA=="}})").empty());
  EXPECT_EQ(ConfigMapErrors(R"({"data":{"a b":"1",".":"2"},"binaryData":{"..x":"AA=="}})"),
            (std::vector<std::string>{std::string("data[a b]: Invalid value: \"a b\": ") + kKeyRegexMsg,
                                      "data[.]: Invalid value: \".\": must not be '.'",
                                      "binaryData[..x]: Invalid value: \"..x\": must not start with '..'"}));
  EXPECT_EQ(ConfigMapErrors(R"({"data":{"k":"1"},"binaryData":{"k":"AA=="}})"),
            std::vector<std::string>{"data[k]: Invalid value: \"k\": duplicate of key present in binaryData"});
  // 1 MiB of values is the limit; binaryData counts decoded bytes, keys do not count.
  json::object at_limit{{"data", json::object{{"a", std::string(1024 * 1024 - 3, 'x')}}},
                        {"binaryData", json::object{{"b", "AAAA"}}}};
  std::vector<StatusCause> causes;
  ValidateConfigMap(at_limit, nullptr, causes);
  EXPECT_TRUE(causes.empty());
  at_limit["data"].as_object()["c"] = "y";
  ValidateConfigMap(at_limit, nullptr, causes);
  EXPECT_EQ(Render(causes), std::vector<std::string>{": Too long: must have at most 1048576 bytes"});
}

TEST(ValidateConfigMapTest, ImmutableOnceSet) {
  const char* frozen = R"({"data":{"a":"1"},"binaryData":{"b":"AA=="},"immutable":true})";
  // Metadata changes are fine.
  EXPECT_TRUE(
      ConfigMapErrors(
          R"({"metadata":{"labels":{"x":"y"}},"data":{"a":"1"},"binaryData":{"b":"AA=="},"immutable":true})", frozen)
          .empty());
  const std::string forbidden = "Forbidden: field is immutable when `immutable` is set";
  EXPECT_EQ(ConfigMapErrors(R"({"data":{"a":"2"},"binaryData":{"b":"AA=="},"immutable":true})", frozen),
            std::vector<std::string>{"data: " + forbidden});
  EXPECT_EQ(ConfigMapErrors(R"({"data":{"a":"1"},"immutable":true})", frozen),
            std::vector<std::string>{"binaryData: " + forbidden});
  EXPECT_EQ(ConfigMapErrors(R"({"data":{"a":"1"},"binaryData":{"b":"AA=="},"immutable":false})", frozen),
            std::vector<std::string>{"immutable: " + forbidden});
  EXPECT_EQ(ConfigMapErrors(R"({"data":{"a":"1"},"binaryData":{"b":"AA=="}})", frozen),
            std::vector<std::string>{"immutable: " + forbidden});
  // Not immutable before: anything goes, including becoming immutable.
  EXPECT_TRUE(
      ConfigMapErrors(R"({"data":{"a":"2"},"immutable":true})", R"({"data":{"a":"1"},"immutable":false})").empty());
  // Key order does not matter.
  EXPECT_TRUE(ConfigMapErrors(R"({"data":{"y":"2","x":"1"},"immutable":true})",
                              R"({"data":{"x":"1","y":"2"},"immutable":true})")
                  .empty());
}

TEST(ValidateSecretTest, TypeRules) {
  EXPECT_TRUE(SecretErrors(R"({"type":"Opaque","data":{"a":"eA=="}})").empty());
  EXPECT_TRUE(SecretErrors(R"({"type":"example.com/custom"})").empty());
  EXPECT_EQ(SecretErrors(R"({"type":"kubernetes.io/tls","data":{"tls.crt":"eA=="}})"),
            std::vector<std::string>{"data[tls.key]: Required value"});
  EXPECT_EQ(SecretErrors(R"({"type":"kubernetes.io/tls"})"),
            (std::vector<std::string>{"data[tls.crt]: Required value", "data[tls.key]: Required value"}));
  EXPECT_TRUE(SecretErrors(R"({"type":"kubernetes.io/tls","data":{"tls.crt":"","tls.key":""}})").empty());
  EXPECT_EQ(SecretErrors(R"({"type":"kubernetes.io/dockerconfigjson"})"),
            std::vector<std::string>{"data[.dockerconfigjson]: Required value"});
  // {"auths":{}} and [1] and "{"
  EXPECT_TRUE(
      SecretErrors(R"({"type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":"eyJhdXRocyI6e319"}})")
          .empty());
  EXPECT_EQ(
      SecretErrors(R"({"type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":"WzFd"}})"),
      std::vector<std::string>{"data[.dockerconfigjson]: Invalid value: \"<secret contents redacted>\": json: cannot "
                               "unmarshal array into Go value of type map[string]interface {}"});
  EXPECT_EQ(SecretErrors(R"({"type":"kubernetes.io/dockercfg","data":{".dockercfg":"ew=="}})"),
            std::vector<std::string>{
                "data[.dockercfg]: Invalid value: \"<secret contents redacted>\": unexpected end of JSON input"});
  EXPECT_EQ(SecretErrors(R"({"type":"kubernetes.io/basic-auth"})"),
            (std::vector<std::string>{"data[username]: Required value", "data[password]: Required value"}));
  EXPECT_TRUE(SecretErrors(R"({"type":"kubernetes.io/basic-auth","data":{"password":""}})").empty());
  EXPECT_EQ(SecretErrors(R"({"type":"kubernetes.io/ssh-auth","data":{"ssh-privatekey":""}})"),
            std::vector<std::string>{"data[ssh-privatekey]: Required value"});
  EXPECT_EQ(SecretErrors(R"({"type":"kubernetes.io/service-account-token"})"),
            std::vector<std::string>{"metadata.annotations[kubernetes.io/service-account.name]: Required value"});
  EXPECT_TRUE(SecretErrors(R"({"type":"kubernetes.io/service-account-token",
                               "metadata":{"annotations":{"kubernetes.io/service-account.name":"default"}}})")
                  .empty());
}

TEST(ValidateSecretTest, KeysSizeAndUpdates) {
  EXPECT_EQ(SecretErrors(R"({"type":"Opaque","data":{"a:b":"eA=="}})"),
            std::vector<std::string>{std::string("data[a:b]: Invalid value: \"a:b\": ") + kKeyRegexMsg});
  // 1 MiB of decoded bytes: 1048576 bytes are 1398104 base64 characters (with "==").
  std::string mib(1398100, 'A');
  json::object at_limit{{"type", "Opaque"}, {"data", json::object{{"a", mib + "AA=="}}}};
  std::vector<StatusCause> causes;
  ValidateSecret(at_limit, nullptr, causes);
  EXPECT_TRUE(causes.empty());
  at_limit["data"].as_object()["b"] = "AA==";
  ValidateSecret(at_limit, nullptr, causes);
  EXPECT_EQ(Render(causes), std::vector<std::string>{"data: Too long: must have at most 1048576 bytes"});

  EXPECT_EQ(SecretErrors(R"({"type":"Opaque"})", R"({"type":"example.com/x"})"),
            std::vector<std::string>{"type: Invalid value: \"Opaque\": field is immutable"});
  const std::string forbidden = "Forbidden: field is immutable when `immutable` is set";
  EXPECT_EQ(SecretErrors(R"({"type":"Opaque","data":{"a":"eQ=="},"immutable":true})",
                         R"({"type":"Opaque","data":{"a":"eA=="},"immutable":true})"),
            std::vector<std::string>{"data: " + forbidden});
  EXPECT_EQ(SecretErrors(R"({"type":"Opaque","data":{"a":"eA=="}})",
                         R"({"type":"Opaque","data":{"a":"eA=="},"immutable":true})"),
            std::vector<std::string>{"immutable: " + forbidden});
  EXPECT_TRUE(
      SecretErrors(R"({"type":"Opaque","data":{"a":"eQ=="}})", R"({"type":"Opaque","data":{"a":"eA=="}})").empty());
}

}  // namespace
}  // namespace setpoint::api
