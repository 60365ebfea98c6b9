#include "setpoint/api/validation.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace setpoint::api {
namespace {

using testing::J;

constexpr const char* kSubdomainMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
constexpr const char* kQualifiedNameMsg =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

TEST(ValidationTest, DNS1123Subdomain) {
  EXPECT_TRUE(IsDNS1123Subdomain("example.com").empty());
  EXPECT_TRUE(IsDNS1123Subdomain("a").empty());
  EXPECT_TRUE(IsDNS1123Subdomain("1-2.3").empty());
  EXPECT_EQ(IsDNS1123Subdomain("Example.com"), std::vector<std::string>{kSubdomainMsg});
  for (std::string_view bad : {"", "-a", "a-", "a..b", ".a", "a.", "a_b", "a.-b"}) {
    EXPECT_FALSE(IsDNS1123Subdomain(bad).empty()) << bad;
  }
  auto too_long = IsDNS1123Subdomain(std::string(254, 'a'));
  ASSERT_EQ(too_long.size(), 1u);
  EXPECT_EQ(too_long[0], "must be no more than 253 characters");
  EXPECT_TRUE(IsDNS1123Subdomain(std::string(253, 'a')).empty());
}

TEST(ValidationTest, DNS1123Label) {
  EXPECT_TRUE(IsDNS1123Label("my-name").empty());
  EXPECT_TRUE(IsDNS1123Label(std::string(63, 'a')).empty());
  auto errs = IsDNS1123Label("a.b");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0],
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
            "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
  EXPECT_EQ(IsDNS1123Label(std::string(64, 'a')), std::vector<std::string>{"must be no more than 63 characters"});
}

TEST(ValidationTest, QualifiedName) {
  for (std::string_view good : {"a", "A_b.c-D", "example.com/Name", "k8s.io/x", "1"}) {
    EXPECT_TRUE(IsQualifiedName(good).empty()) << good;
  }
  EXPECT_EQ(IsQualifiedName("-a"), std::vector<std::string>{kQualifiedNameMsg});
  EXPECT_EQ(IsQualifiedName(""), (std::vector<std::string>{"name part must be non-empty", kQualifiedNameMsg}));
  auto empty_prefix = IsQualifiedName("/a");
  ASSERT_EQ(empty_prefix.size(), 1u);
  EXPECT_EQ(empty_prefix[0], "prefix part must be non-empty");
  auto bad_prefix = IsQualifiedName("Bad/a");
  ASSERT_EQ(bad_prefix.size(), 1u);
  EXPECT_EQ(bad_prefix[0], std::string("prefix part ") + kSubdomainMsg);
  auto two_slashes = IsQualifiedName("a/b/c");
  ASSERT_EQ(two_slashes.size(), 1u);
  EXPECT_EQ(two_slashes[0].rfind("a qualified name must consist of", 0), 0u);
  EXPECT_NE(two_slashes[0].find("with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"),
            std::string::npos);
  EXPECT_EQ(IsQualifiedName(std::string(64, 'a')),
            std::vector<std::string>{"name part must be no more than 63 characters"});
}

TEST(ValidationTest, LabelValue) {
  EXPECT_TRUE(IsValidLabelValue("").empty());
  EXPECT_TRUE(IsValidLabelValue("My_value-1.2").empty());
  auto bad = IsValidLabelValue("a b");
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0],
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
            "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
            "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
  EXPECT_EQ(IsValidLabelValue(std::string(64, 'a')), std::vector<std::string>{"must be no more than 63 characters"});
}

TEST(ValidationTest, NameRules) {
  EXPECT_TRUE(ValidateName("my.name", NameRule::kDNS1123Subdomain).empty());
  EXPECT_FALSE(ValidateName("my.name", NameRule::kDNS1123Label).empty());
  EXPECT_TRUE(ValidateName("web-", NameRule::kDNS1123Label, /*prefix=*/true).empty());
  EXPECT_FALSE(ValidateName("web-", NameRule::kDNS1123Label, /*prefix=*/false).empty());
  EXPECT_EQ(ValidateName(".", NameRule::kPathSegment), std::vector<std::string>{"may not be '.'"});
  EXPECT_EQ(ValidateName("..", NameRule::kPathSegment), std::vector<std::string>{"may not be '..'"});
  EXPECT_EQ(ValidateName("a/b%c", NameRule::kPathSegment),
            (std::vector<std::string>{"may not contain '/'", "may not contain '%'"}));
  EXPECT_TRUE(ValidateName("..", NameRule::kPathSegment, /*prefix=*/true).empty());
  EXPECT_TRUE(ValidateName("Any Thing:é", NameRule::kPathSegment).empty());
}

std::vector<StatusCause> Validate(const char* metadata, bool namespaced = true,
                                  NameRule rule = NameRule::kDNS1123Subdomain) {
  std::vector<StatusCause> causes;
  ValidateObjectMeta(J(metadata).get_object(), namespaced, rule, causes);
  return causes;
}

TEST(ValidationTest, ValidObjectMeta) {
  auto causes = Validate(R"({"name":"a","namespace":"default","generation":1,
      "labels":{"app.kubernetes.io/name":"x","e":""},
      "annotations":{"Example.com/Some_Key":"anything goes\n"},
      "finalizers":["example.com/cleanup","kubernetes"],
      "ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"c","uid":"u1","controller":true},
                         {"apiVersion":"apps/v1","kind":"ReplicaSet","name":"r","uid":"u2","controller":false}]})");
  EXPECT_TRUE(causes.empty()) << FormatCauses(causes);
}

TEST(ValidationTest, NameRequiredUnlessGenerateName) {
  auto causes = Validate(R"({"namespace":"ns"})");
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].field, "metadata.name");
  EXPECT_EQ(causes[0].reason, "FieldValueRequired");
  EXPECT_EQ(causes[0].message, "Required value: name or generateName is required");
  EXPECT_TRUE(Validate(R"({"generateName":"web-","namespace":"ns"})").empty());
  auto bad_gen = Validate(R"({"generateName":"Web-","namespace":"ns"})");
  ASSERT_EQ(bad_gen.size(), 1u);
  EXPECT_EQ(bad_gen[0].field, "metadata.generateName");
}

TEST(ValidationTest, InvalidName) {
  auto causes = Validate(R"({"name":"Foo","namespace":"ns"})");
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].field, "metadata.name");
  EXPECT_EQ(causes[0].reason, "FieldValueInvalid");
  EXPECT_EQ(causes[0].message, std::string("Invalid value: \"Foo\": ") + kSubdomainMsg);
  auto path = Validate(R"({"name":"a/b","namespace":"ns"})", true, NameRule::kPathSegment);
  ASSERT_EQ(path.size(), 1u);
  EXPECT_EQ(path[0].message, "Invalid value: \"a/b\": may not contain '/'");
}

TEST(ValidationTest, Namespace) {
  auto missing = Validate(R"({"name":"a"})", true);
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].field, "metadata.namespace");
  EXPECT_EQ(missing[0].reason, "FieldValueRequired");
  auto forbidden = Validate(R"({"name":"a","namespace":"x"})", false);
  ASSERT_EQ(forbidden.size(), 1u);
  EXPECT_EQ(forbidden[0].reason, "FieldValueForbidden");
  EXPECT_EQ(forbidden[0].message, "Forbidden: not allowed on this type");
  EXPECT_TRUE(Validate(R"({"name":"a"})", false).empty());
  EXPECT_EQ(Validate(R"({"name":"a","namespace":"a.b"})").size(), 1u);
}

TEST(ValidationTest, Labels) {
  auto causes = Validate(R"({"name":"a","namespace":"n","labels":{"bad key":"ok","good":"bad value"}})");
  ASSERT_EQ(causes.size(), 2u);
  EXPECT_EQ(causes[0].field, "metadata.labels");
  EXPECT_EQ(causes[0].message, std::string("Invalid value: \"bad key\": ") + kQualifiedNameMsg);
  EXPECT_EQ(causes[1].field, "metadata.labels");
  EXPECT_EQ(causes[1].message.rfind("Invalid value: \"bad value\": a valid label must be", 0), 0u);
  auto typed = Validate(R"({"name":"a","namespace":"n","labels":{"a":1}})");
  ASSERT_EQ(typed.size(), 1u);
  EXPECT_EQ(typed[0].reason, "FieldValueTypeInvalid");
  EXPECT_EQ(Validate(R"({"name":"a","namespace":"n","labels":[]})").size(), 1u);
}

TEST(ValidationTest, AnnotationsSizeLimit) {
  boost::json::object meta{{"name", "a"}, {"namespace", "n"}};
  boost::json::object annotations;
  annotations["a"] = std::string(kTotalAnnotationSizeLimit - 1, 'x');
  meta["annotations"] = annotations;
  std::vector<StatusCause> causes;
  ValidateObjectMeta(meta, true, NameRule::kDNS1123Subdomain, causes);
  EXPECT_TRUE(causes.empty());
  annotations["b"] = "y";
  meta["annotations"] = annotations;
  ValidateObjectMeta(meta, true, NameRule::kDNS1123Subdomain, causes);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].reason, "FieldValueTooLong");
  EXPECT_EQ(causes[0].field, "metadata.annotations");
  EXPECT_EQ(causes[0].message, "Too long: may not be more than 262144 bytes");
  EXPECT_EQ(Validate(R"({"name":"a","namespace":"n","annotations":{"-x":"1"}})").size(), 1u);
}

TEST(ValidationTest, Finalizers) {
  auto causes = Validate(R"({"name":"a","namespace":"n","finalizers":["ok","bad name"]})");
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].field, "metadata.finalizers[1]");
  auto both = Validate(R"({"name":"a","namespace":"n","finalizers":["orphan","foregroundDeletion"]})");
  ASSERT_EQ(both.size(), 1u);
  EXPECT_EQ(both[0].field, "metadata.finalizers");
  EXPECT_NE(both[0].message.find("finalizer orphan and foregroundDeletion cannot be both set"), std::string::npos);
}

TEST(ValidationTest, OwnerReferences) {
  auto causes = Validate(R"({"name":"a","namespace":"n","ownerReferences":[
      {"apiVersion":"v1","kind":"K","name":"x"},
      {"apiVersion":"apps/","kind":"","name":"y","uid":"2"}]})");
  ASSERT_EQ(causes.size(), 3u);
  EXPECT_EQ(causes[0].field, "metadata.ownerReferences[0].uid");
  EXPECT_EQ(causes[0].message, "Invalid value: \"\": uid must not be empty");
  EXPECT_EQ(causes[1].field, "metadata.ownerReferences[1].apiVersion");
  EXPECT_EQ(causes[1].message, "Invalid value: \"apps/\": version must not be empty");
  EXPECT_EQ(causes[2].field, "metadata.ownerReferences[1].kind");

  auto two_controllers = Validate(R"({"name":"a","namespace":"n","ownerReferences":[
      {"apiVersion":"v1","kind":"A","name":"x","uid":"1","controller":true},
      {"apiVersion":"v1","kind":"B","name":"y","uid":"2","controller":true}]})");
  ASSERT_EQ(two_controllers.size(), 1u);
  EXPECT_EQ(two_controllers[0].field, "metadata.ownerReferences");
  EXPECT_NE(two_controllers[0].message.find(
                "Only one reference can have Controller set to true. Found \"true\" in references for A/x and B/y"),
            std::string::npos);
  EXPECT_EQ(Validate(R"({"name":"a","namespace":"n","ownerReferences":[1]})").size(), 1u);
}

TEST(ValidationTest, Generation) {
  auto causes = Validate(R"({"name":"a","namespace":"n","generation":-1})");
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].message, "Invalid value: -1: must be greater than or equal to 0");
}

TEST(ValidationTest, FormatCausesAndMakeInvalid) {
  std::vector<StatusCause> one{{"FieldValueRequired", "Required value", "spec.x"}};
  EXPECT_EQ(FormatCauses(one), "spec.x: Required value");
  std::vector<StatusCause> two{{"FieldValueRequired", "Required value", "spec.x"},
                               {"FieldValueRequired", "Required value", "spec.x"},
                               {"FieldValueInvalid", "Invalid value: 1: bad", "spec.y"}};
  EXPECT_EQ(FormatCauses(two), "[spec.x: Required value, spec.y: Invalid value: 1: bad]");
  Status s = MakeInvalid("CronTab.stable.example.com", "my-cron", two);
  EXPECT_EQ(s.code(), StatusCode::kInvalid);
  EXPECT_EQ(
      s.message(),
      "CronTab.stable.example.com \"my-cron\" is invalid: [spec.x: Required value, spec.y: Invalid value: 1: bad]");
  EXPECT_EQ(s.causes().size(), 3u);
  EXPECT_EQ(MakeInvalid("Pod", "p", {}).message(), "Pod \"p\" is invalid");
}

}  // namespace
}  // namespace setpoint::api
