#include "api/protobuf_core.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "test_util.h"

namespace setpoint::api {
namespace {

namespace json = boost::json;
using testing::J;

// A minimal protobuf writer for the fixtures.
std::string Varint(std::uint64_t v) {
  std::string out;
  do {
    unsigned char b = v & 0x7f;
    v >>= 7;
    if (v) b |= 0x80;
    out.push_back(static_cast<char>(b));
  } while (v);
  return out;
}
std::string Bytes(int field, std::string_view s) {
  return Varint(static_cast<std::uint64_t>(field) << 3 | 2) + Varint(s.size()) + std::string(s);
}
std::string Int(int field, std::uint64_t v) { return Varint(static_cast<std::uint64_t>(field) << 3) + Varint(v); }
std::string Entry(int field, std::string_view k, std::string_view v) { return Bytes(field, Bytes(1, k) + Bytes(2, v)); }
// "6b 38 ..." -> bytes.
std::string FromHex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 3)
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}
std::string Envelope(std::string_view api_version, std::string_view kind, std::string_view raw) {
  return std::string("k8s\0", 4) + Bytes(1, Bytes(1, api_version) + Bytes(2, kind)) + Bytes(2, raw) + Bytes(3, "") +
         Bytes(4, "");
}

TEST(ProtobufTest, DecodesWhatKubectl132SendsForCreateConfigmap) {
  // `kubectl create configmap x32 --from-literal=a=b`, captured from kubectl 1.32.
  const std::string body = FromHex(
      "6b 38 73 00 0a 0f 0a 02 76 31 12 09 43 6f 6e 66 69 67 4d 61 70 12 1d 0a 13 0a 03 78 33 32 12 00 1a 00 "
      "22 00 2a 00 32 00 38 00 42 00 12 06 0a 01 61 12 01 62 1a 00 22 00");
  auto obj = DecodeProtobufObject(body);
  ASSERT_TRUE(obj.has_value()) << obj.error().message();
  EXPECT_EQ(json::value(*obj),
            J(R"({"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"x32"},"data":{"a":"b"}})"));
}

TEST(ProtobufTest, DecodesWhatKubectl132SendsForCreateSecret) {
  // `kubectl create secret generic s32 --from-literal=a=b`: data is bytes, type is "".
  const std::string body = FromHex(
      "6b 38 73 00 0a 0c 0a 02 76 31 12 06 53 65 63 72 65 74 12 1f 0a 13 0a 03 73 33 32 12 00 1a 00 22 00 2a 00 "
      "32 00 38 00 42 00 12 06 0a 01 61 12 01 62 1a 00 1a 00 22 00");
  auto obj = DecodeProtobufObject(body);
  ASSERT_TRUE(obj.has_value()) << obj.error().message();
  EXPECT_EQ(json::value(*obj),
            J(R"({"kind":"Secret","apiVersion":"v1","metadata":{"name":"s32"},"data":{"a":"Yg=="}})"));
}

TEST(ProtobufTest, DecodesObjectMetaAndEveryField) {
  std::string owner = Bytes(1, "Widget") + Bytes(3, "w") + Bytes(4, "u-1") + Bytes(5, "example.com/v1") + Int(6, 1);
  std::string meta = Bytes(1, "cfg") + Bytes(2, "") + Bytes(3, "ns") + Bytes(4, "/self") + Bytes(6, "") + Int(7, 3) +
                     Bytes(8, Int(1, 1767225600)) + Entry(11, "app", "x") + Entry(11, "tier", "db") +
                     Entry(12, "note", "hi") + Bytes(13, owner) + Bytes(14, "example.com/f") +
                     Bytes(17, Bytes(1, "kubectl")) + Int(99, 5);
  std::string cm = Bytes(1, meta) + Entry(2, "k", "v") + Entry(3, "bin", std::string("\x00\xff", 2)) + Int(4, 1);
  auto obj = DecodeProtobufObject(Envelope("v1", "ConfigMap", cm));
  ASSERT_TRUE(obj.has_value()) << obj.error().message();
  EXPECT_EQ(json::value(*obj), J(R"({"kind":"ConfigMap","apiVersion":"v1",
    "metadata":{"name":"cfg","namespace":"ns","generation":3,"creationTimestamp":"2026-01-01T00:00:00Z",
      "labels":{"app":"x","tier":"db"},"annotations":{"note":"hi"},
      "ownerReferences":[{"kind":"Widget","name":"w","uid":"u-1","apiVersion":"example.com/v1","controller":true}],
      "finalizers":["example.com/f"]},
    "data":{"k":"v"},"binaryData":{"bin":"AP8="},"immutable":true})"));

  std::string secret = Bytes(1, Bytes(1, "s")) + Entry(2, "tls.crt", "c") + Bytes(3, "kubernetes.io/tls") +
                       Entry(4, "tls.key", "k") + Int(5, 0);
  obj = DecodeProtobufObject(Envelope("v1", "Secret", secret));
  ASSERT_TRUE(obj.has_value()) << obj.error().message();
  EXPECT_EQ(json::value(*obj), J(R"({"kind":"Secret","apiVersion":"v1","metadata":{"name":"s"},
    "data":{"tls.crt":"Yw=="},"stringData":{"tls.key":"k"},"type":"kubernetes.io/tls","immutable":false})"));
}

TEST(ProtobufTest, RejectsOtherKindsAndMalformedBodies) {
  auto other = DecodeProtobufObject(Envelope("v1", "Namespace", Bytes(1, Bytes(1, "n"))));
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code(), StatusCode::kUnsupportedMediaType);
  EXPECT_EQ(DecodeProtobufObject(Envelope("apps/v1", "ConfigMap", "")).error().code(),
            StatusCode::kUnsupportedMediaType);

  auto not_proto = DecodeProtobufObject("{\"kind\":\"ConfigMap\"}");
  ASSERT_FALSE(not_proto.has_value());
  EXPECT_EQ(not_proto.error().code(), StatusCode::kBadRequest);
  EXPECT_EQ(not_proto.error().message(),
            "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]");

  std::string good = Envelope("v1", "ConfigMap", Bytes(1, Bytes(1, "x")) + Entry(2, "a", "b"));
  for (std::size_t cut = 5; cut < good.size(); ++cut) {
    // Every truncation either fails cleanly or (cut inside the trailing empty fields) decodes.
    auto r = DecodeProtobufObject(std::string_view(good).substr(0, cut));
    if (!r) {
      EXPECT_EQ(r.error().code(), StatusCode::kBadRequest) << cut;
    }
  }
  std::string huge_length = std::string("k8s\0", 4) + Varint(2 << 3 | 2) + Varint(1ULL << 62);
  EXPECT_EQ(DecodeProtobufObject(huge_length).error().code(), StatusCode::kBadRequest);
  std::string group_wire = std::string("k8s\0", 4) + Varint(5 << 3 | 3);
  EXPECT_EQ(DecodeProtobufObject(group_wire).error().code(), StatusCode::kBadRequest);
  std::string wrong_wire = Envelope("v1", "ConfigMap", Int(1, 7));  // metadata as a varint
  EXPECT_EQ(DecodeProtobufObject(wrong_wire).error().code(), StatusCode::kBadRequest);
}

TEST(ProtobufTest, SurvivesMutatedBodies) {
  std::string owner = Bytes(1, "Widget") + Bytes(3, "w") + Int(6, 1);
  std::string meta = Bytes(1, "m") + Bytes(8, Int(1, 5)) + Entry(11, "a", "b") + Bytes(13, owner) + Bytes(14, "f");
  const std::string seed = Envelope("v1", "Secret", Bytes(1, meta) + Entry(2, "k", "v") + Bytes(3, "t") + Int(5, 1));
  std::uint64_t x = 88172645463325252ULL;  // xorshift: the same mutations on every run
  auto next = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string body = seed;
    for (int flips = 1 + static_cast<int>(next() % 4); flips > 0; --flips) {
      std::size_t at = 4 + next() % (body.size() - 4);  // keep the magic
      switch (next() % 3) {
        case 0:
          body[at] = static_cast<char>(next());
          break;
        case 1:
          body.erase(at, 1 + next() % 3);
          break;
        default:
          body.insert(at, 1, static_cast<char>(next()));
          break;
      }
      if (body.size() <= 4) body = seed;
    }
    auto r = DecodeProtobufObject(body);
    if (r) {
      ++decoded;
      EXPECT_TRUE(r->contains("kind"));
    } else {
      EXPECT_TRUE(r.error().code() == StatusCode::kBadRequest || r.error().code() == StatusCode::kUnsupportedMediaType)
          << r.error().message();
    }
  }
  EXPECT_GT(decoded, 0);
}

}  // namespace
}  // namespace setpoint::api
