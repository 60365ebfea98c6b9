// The codec stage on its own: decoding, content negotiation and rendering, with no handler.
#include "apiserver/codec.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "setpoint/common/json.h"

namespace setpoint::apiserver {
namespace {

namespace json = boost::json;

HttpRequest Body(std::string content_type, std::string body) {
  HttpRequest r;
  r.method = "POST";
  if (!content_type.empty()) r.headers.emplace_back("content-type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

ResourceInfoPtr Builtin(std::string_view resource) {
  for (auto& r : BuiltinResources())
    if (r->resource == resource) return r;
  return nullptr;
}

TEST(CodecDecodeTest, JsonAndYamlDecodeAlikeAndStrictRefusesDuplicates) {
  auto from_json = DecodeObject(Body("application/json", R"({"a":{"b":[1,"x"]}})"), true, nullptr);
  auto from_yaml = DecodeObject(Body("application/yaml; charset=utf-8", "a:\n  b: [1, x]\n"), true, nullptr);
  ASSERT_TRUE(from_json.has_value());
  ASSERT_TRUE(from_yaml.has_value());
  EXPECT_EQ(json::serialize(*from_json), json::serialize(*from_yaml));

  auto dup = DecodeObject(Body("application/json", R"({"a":1,"a":2})"), true, nullptr);
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().message(), "strict decoding error: duplicate field \"a\"");
  EXPECT_TRUE(DecodeObject(Body("application/json", R"({"a":1,"a":2})"), false, nullptr).has_value());
  auto yaml_dup = DecodeObject(Body("application/yaml", "a: 1\na: 2\n"), true, nullptr);
  ASSERT_FALSE(yaml_dup.has_value());
  EXPECT_EQ(yaml_dup.error().code(), StatusCode::kBadRequest);
}

TEST(CodecDecodeTest, RefusesWhatIsNotAnObjectOrNotAKnownType) {
  EXPECT_EQ(DecodeObject(Body("application/json", ""), false, nullptr).error().message(),
            "the body of the request was empty");
  EXPECT_EQ(DecodeObject(Body("application/json", "[1]"), false, nullptr).error().message(),
            "the body of the request must be a JSON object");
  auto xml = DecodeObject(Body("application/xml", "<a/>"), false, nullptr);
  ASSERT_FALSE(xml.has_value());
  EXPECT_EQ(xml.error().code(), StatusCode::kUnsupportedMediaType);
  // Protobuf only for the kinds that have a protobuf decoding here.
  auto proto = DecodeObject(Body("application/vnd.kubernetes.protobuf", "k8s\0"), false, nullptr);
  ASSERT_FALSE(proto.has_value());
  EXPECT_EQ(proto.error().code(), StatusCode::kUnsupportedMediaType);
  EXPECT_EQ(DecodeObject(Body("application/json", R"({"n":1e400})"), false, nullptr).error().code(),
            StatusCode::kBadRequest);
}

TEST(CodecDecodeTest, MediaTypesAreComparedWithoutParametersOrCase) {
  EXPECT_EQ(MediaType("Application/JSON; charset=utf-8"), "application/json");
  EXPECT_EQ(MediaType(""), "");
}

TEST(CodecNegotiationTest, TheFirstJsonRangeDecides) {
  EXPECT_EQ(ParseAccept("").as, "");
  EXPECT_EQ(ParseAccept("application/json").as, "");
  AcceptedAs table = ParseAccept("application/json;as=Table;v=v1;g=meta.k8s.io,application/json");
  EXPECT_EQ(table.as, "Table");
  EXPECT_EQ(table.version, "v1");
  // kubectl's protobuf-first Accept: the protobuf range is skipped, the JSON one wins.
  AcceptedAs meta = ParseAccept(
      "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,"
      "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1beta1,application/json");
  EXPECT_EQ(meta.as, "PartialObjectMetadataList");
  EXPECT_EQ(meta.version, "v1beta1");
  // `as` for another group is not ours to render: the plain range after it is taken.
  EXPECT_EQ(ParseAccept("application/json;as=Table;g=example.com;v=v1,application/json").as, "");
}

TEST(CodecNegotiationTest, MetadataRenderingsMatchTheVerb) {
  AcceptedAs list{"PartialObjectMetadataList", "v1"};
  EXPECT_FALSE(Unacceptable(list, true).has_value());
  ASSERT_TRUE(Unacceptable(list, false).has_value());
  EXPECT_EQ(Unacceptable(list, false)->code(), StatusCode::kNotAcceptable);
  EXPECT_EQ(MetadataVersion(list, true), "meta.k8s.io/v1");
  EXPECT_EQ(MetadataVersion(list, false), std::nullopt);
  EXPECT_FALSE(Unacceptable({"Table", "v1"}, false).has_value());
  EXPECT_TRUE(Unacceptable({"PartialObjectMetadata", "v2"}, false).has_value());
}

TEST(CodecRenderTest, AStatusNamesWhatFailed) {
  auto configmaps = Builtin("configmaps");
  ASSERT_NE(configmaps, nullptr);
  Status invalid = Status::Invalid("ConfigMap \"c\" is invalid: data: bad");
  invalid.add_cause({"FieldValueInvalid", "bad", "data"});
  HttpResponse r = StatusResponse(invalid, configmaps.get(), "c", {"careful"});
  EXPECT_EQ(r.status, 422);
  auto body = ParseJson(r.body);
  ASSERT_TRUE(body.has_value());
  const json::object& o = body->as_object();
  EXPECT_EQ(GetStringOr(o, "kind", ""), "Status");
  EXPECT_EQ(GetStringOr(o, "reason", ""), "Invalid");
  EXPECT_EQ(GetInt(o, "code"), 422);
  const json::object& details = o.at("details").as_object();
  EXPECT_EQ(GetStringOr(details, "name", ""), "c");
  EXPECT_EQ(GetStringOr(details, "kind", ""), "ConfigMap");  // Invalid names the kind
  EXPECT_EQ(GetStringOr(details.at("causes").as_array()[0].as_object(), "field", ""), "data");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].second, "299 - \"careful\"");

  HttpResponse missing = StatusResponse(Status::NotFound("configmaps \"c\" not found"), configmaps.get(), "c", {});
  EXPECT_EQ(missing.status, 404);
  auto missing_body = ParseJson(missing.body);
  EXPECT_EQ(GetStringOr(missing_body->as_object().at("details").as_object(), "kind", ""), "configmaps");

  HttpResponse busy = StatusResponse(Status::TooManyRequests("slow down").set_retry_after(3), nullptr, "", {});
  ASSERT_EQ(busy.headers.size(), 1u);
  EXPECT_EQ(busy.headers[0], (std::pair<std::string, std::string>{"Retry-After", "3"}));
}

TEST(CodecRenderTest, StorageDropsTheResourceVersionAndOtherVersionsChangeOnlyApiVersion) {
  json::object obj = json::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c",
    "resourceVersion":"7"},"data":{"k":"v"}})")
                         .as_object();
  EXPECT_EQ(EncodeForStorage(obj),
            R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"k":"v"}})");

  ResourceInfo widgets;
  widgets.group = "example.com";
  widgets.storage_version = "v1";
  store::CachedObject stored;
  stored.adopt("/registry/example.com/widgets/ns/w", R"({"apiVersion":"example.com/v1","kind":"Widget"})");
  EXPECT_EQ(RenderForVersion(widgets, "v1", stored), R"({"apiVersion":"example.com/v1","kind":"Widget"})");
  EXPECT_EQ(RenderForVersion(widgets, "v1beta1", stored), R"({"apiVersion":"example.com/v1beta1","kind":"Widget"})");
}

}  // namespace
}  // namespace setpoint::apiserver
