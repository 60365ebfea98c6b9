#include "setpoint/api/validation.h"

#include <set>

#include "api/json_util.h"

namespace setpoint::api {
namespace json = boost::json;
using internal::GoQuote;
using internal::GoValue;

namespace {

constexpr std::size_t kQualifiedNameMaxLength = 63;
constexpr std::size_t kLabelValueMaxLength = 63;
constexpr std::size_t kDNS1123LabelMaxLength = 63;
constexpr std::size_t kDNS1123SubdomainMaxLength = 253;

constexpr std::string_view kQualifiedNameErrMsg =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character";
constexpr std::string_view kQualifiedNameFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
constexpr std::string_view kLabelValueErrMsg =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character";
constexpr std::string_view kLabelValueFmt = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
constexpr std::string_view kDNS1123LabelErrMsg =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character";
constexpr std::string_view kDNS1123LabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
constexpr std::string_view kDNS1123SubdomainErrMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character";
constexpr std::string_view kDNS1123SubdomainFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";

// Upstream's RegexError: "<msg> (e.g. 'a',  or 'b', regex used for validation is '<fmt>')".
std::string RegexError(std::string_view msg, std::string_view fmt, std::initializer_list<std::string_view> examples) {
  std::string s(msg);
  s += " (e.g. ";
  bool first = true;
  for (auto ex : examples) {
    if (!first) s += " or ";
    first = false;
    s += "'";
    s += ex;
    s += "', ";
  }
  s += "regex used for validation is '";
  s += fmt;
  s += "')";
  return s;
}

std::string MaxLenError(std::size_t n) { return "must be no more than " + std::to_string(n) + " characters"; }

bool IsAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool MatchesQualifiedNamePart(std::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  for (char c : s) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool MatchesDNS1123Label(std::string_view s) {
  if (s.empty() || !IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) return false;
  for (char c : s) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

bool MatchesDNS1123Subdomain(std::string_view s) {
  while (true) {
    auto dot = s.find('.');
    if (!MatchesDNS1123Label(s.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

void Add(std::vector<StatusCause>& causes, std::string reason, std::string message, std::string field) {
  causes.push_back(StatusCause{std::move(reason), std::move(message), std::move(field)});
}

void AddInvalid(std::vector<StatusCause>& causes, const std::string& field, const json::value& bad,
                std::string_view detail) {
  std::string msg = "Invalid value: " + GoValue(bad);
  if (!detail.empty()) {
    msg += ": ";
    msg += detail;
  }
  Add(causes, "FieldValueInvalid", std::move(msg), field);
}

void AddTypeInvalid(std::vector<StatusCause>& causes, const std::string& field, const json::value& bad,
                    std::string_view type) {
  Add(causes, "FieldValueTypeInvalid", "Invalid value: " + GoValue(bad) + ": must be of type " + std::string(type),
      field);
}

// Returns the string at obj[key]: nullptr when absent or null, and a type cause when not a
// string.
const json::string* StringField(const json::object& obj, std::string_view key, const std::string& field,
                                std::vector<StatusCause>& causes) {
  const auto* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) return nullptr;
  if (!v->is_string()) {
    AddTypeInvalid(causes, field, *v, "string");
    return nullptr;
  }
  return &v->get_string();
}

// Returns obj[key] as an object of strings (reporting non-string values), or nullptr.
const json::object* StringMapField(const json::object& obj, std::string_view key, const std::string& field,
                                   std::vector<StatusCause>& causes) {
  const auto* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) return nullptr;
  if (!v->is_object()) {
    AddTypeInvalid(causes, field, *v, "object");
    return nullptr;
  }
  for (const auto& kv : v->get_object()) {
    if (!kv.value().is_string())
      AddTypeInvalid(causes, field + "[" + std::string(kv.key()) + "]", kv.value(), "string");
  }
  return &v->get_object();
}

void ValidateLabels(const json::object& labels, const std::string& field, std::vector<StatusCause>& causes) {
  for (const auto& kv : labels) {
    for (const auto& msg : IsQualifiedName(kv.key())) AddInvalid(causes, field, json::string(kv.key()), msg);
    if (!kv.value().is_string()) continue;
    for (const auto& msg : IsValidLabelValue(kv.value().get_string())) AddInvalid(causes, field, kv.value(), msg);
  }
}

void ValidateAnnotations(const json::object& annotations, const std::string& field, std::vector<StatusCause>& causes) {
  std::size_t total = 0;
  for (const auto& kv : annotations) {
    std::string lower(kv.key());
    for (char& c : lower) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    for (const auto& msg : IsQualifiedName(lower)) AddInvalid(causes, field, json::string(kv.key()), msg);
    total += kv.key().size();
    if (kv.value().is_string()) total += kv.value().get_string().size();
  }
  if (total > kTotalAnnotationSizeLimit) {
    Add(causes, "FieldValueTooLong",
        "Too long: may not be more than " + std::to_string(kTotalAnnotationSizeLimit) + " bytes", field);
  }
}

void ValidateFinalizers(const json::value& v, const std::string& field, std::vector<StatusCause>& causes) {
  if (!v.is_array()) {
    AddTypeInvalid(causes, field, v, "array");
    return;
  }
  bool orphan = false;
  bool foreground = false;
  const auto& arr = v.get_array();
  for (std::size_t i = 0; i < arr.size(); ++i) {
    std::string f = field + "[" + std::to_string(i) + "]";
    if (!arr[i].is_string()) {
      AddTypeInvalid(causes, f, arr[i], "string");
      continue;
    }
    const auto& s = arr[i].get_string();
    for (const auto& msg : IsQualifiedName(s)) AddInvalid(causes, f, arr[i], msg);
    orphan = orphan || s == "orphan";
    foreground = foreground || s == "foregroundDeletion";
  }
  if (orphan && foreground) {
    AddInvalid(causes, field, v, "finalizer orphan and foregroundDeletion cannot be both set");
  }
}

void ValidateOwnerReferences(const json::value& v, const std::string& field, std::vector<StatusCause>& causes) {
  if (!v.is_array()) {
    AddTypeInvalid(causes, field, v, "array");
    return;
  }
  std::vector<std::string> controllers;
  const auto& arr = v.get_array();
  for (std::size_t i = 0; i < arr.size(); ++i) {
    std::string base = field + "[" + std::to_string(i) + "]";
    if (!arr[i].is_object()) {
      AddTypeInvalid(causes, base, arr[i], "object");
      continue;
    }
    const auto& ref = arr[i].get_object();
    struct Required {
      std::string_view key;
      std::string_view what;
    };
    for (auto [key, what] : {Required{"apiVersion", "version"}, Required{"kind", "kind"}, Required{"name", "name"},
                             Required{"uid", "uid"}}) {
      std::string f = base + "." + std::string(key);
      const auto* raw = ref.if_contains(key);
      bool wrong_type = raw != nullptr && !raw->is_null() && !raw->is_string();
      const auto* s = StringField(ref, key, f, causes);
      if (wrong_type) continue;
      std::string_view value = s != nullptr ? std::string_view(*s) : std::string_view();
      std::string_view checked = value;
      // As upstream's schema.ParseGroupVersion sees it: "group/" and "a/b/c" have no version.
      if (key == "apiVersion") {
        auto slash = checked.find('/');
        if (slash != std::string_view::npos) {
          checked =
              checked.find('/', slash + 1) == std::string_view::npos ? checked.substr(slash + 1) : std::string_view();
        }
      }
      if (checked.empty()) AddInvalid(causes, f, json::string(value), std::string(what) + " must not be empty");
    }
    const auto* controller = ref.if_contains("controller");
    if (controller != nullptr && controller->is_bool() && controller->get_bool()) {
      std::string desc;
      if (const auto* k = ref.if_contains("kind"); k != nullptr && k->is_string()) desc += std::string(k->get_string());
      desc += "/";
      if (const auto* n = ref.if_contains("name"); n != nullptr && n->is_string()) desc += std::string(n->get_string());
      controllers.push_back(std::move(desc));
    }
  }
  if (controllers.size() > 1) {
    AddInvalid(causes, field, v,
               "Only one reference can have Controller set to true. Found \"true\" in references for " +
                   internal::Join(controllers, " and "));
  }
}

}  // namespace

std::vector<std::string> IsDNS1123Subdomain(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kDNS1123SubdomainMaxLength) errs.push_back(MaxLenError(kDNS1123SubdomainMaxLength));
  if (!MatchesDNS1123Subdomain(value)) {
    errs.push_back(RegexError(kDNS1123SubdomainErrMsg, kDNS1123SubdomainFmt, {"example.com"}));
  }
  return errs;
}

std::vector<std::string> IsDNS1123Label(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kDNS1123LabelMaxLength) errs.push_back(MaxLenError(kDNS1123LabelMaxLength));
  if (!MatchesDNS1123Label(value)) {
    errs.push_back(RegexError(kDNS1123LabelErrMsg, kDNS1123LabelFmt, {"my-name", "123-abc"}));
  }
  return errs;
}

std::vector<std::string> IsQualifiedName(std::string_view value) {
  std::vector<std::string> errs;
  std::string_view name = value;
  auto slash = value.find('/');
  if (slash != std::string_view::npos) {
    if (value.find('/', slash + 1) != std::string_view::npos) {
      errs.push_back("a qualified name " +
                     RegexError(kQualifiedNameErrMsg, kQualifiedNameFmt, {"MyName", "my.name", "123-abc"}) +
                     " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
      return errs;
    }
    std::string_view prefix = value.substr(0, slash);
    name = value.substr(slash + 1);
    if (prefix.empty()) {
      errs.push_back("prefix part must be non-empty");
    } else {
      for (const auto& msg : IsDNS1123Subdomain(prefix)) errs.push_back("prefix part " + msg);
    }
  }
  if (name.empty()) {
    errs.push_back("name part must be non-empty");
  } else if (name.size() > kQualifiedNameMaxLength) {
    errs.push_back("name part " + MaxLenError(kQualifiedNameMaxLength));
  }
  if (!MatchesQualifiedNamePart(name)) {
    errs.push_back("name part " +
                   RegexError(kQualifiedNameErrMsg, kQualifiedNameFmt, {"MyName", "my.name", "123-abc"}));
  }
  return errs;
}

std::vector<std::string> IsValidLabelValue(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kLabelValueMaxLength) errs.push_back(MaxLenError(kLabelValueMaxLength));
  if (!value.empty() && !MatchesQualifiedNamePart(value)) {
    errs.push_back(RegexError(kLabelValueErrMsg, kLabelValueFmt, {"MyValue", "my_value", "12345"}));
  }
  return errs;
}

std::vector<std::string> ValidateName(std::string_view name, NameRule rule, bool prefix) {
  switch (rule) {
    case NameRule::kPathSegment: {
      std::vector<std::string> errs;
      if (!prefix) {
        if (name == ".") errs.push_back("may not be '.'");
        if (name == "..") errs.push_back("may not be '..'");
      }
      if (name.find('/') != std::string_view::npos) errs.push_back("may not contain '/'");
      if (name.find('%') != std::string_view::npos) errs.push_back("may not contain '%'");
      return errs;
    }
    case NameRule::kDNS1123Label:
    case NameRule::kDNS1123Subdomain: {
      // A generateName prefix may end in '-': the generated suffix makes it valid.
      std::string masked(name);
      if (prefix && masked.size() > 1 && masked.back() == '-') masked.back() = 'a';
      return rule == NameRule::kDNS1123Label ? IsDNS1123Label(masked) : IsDNS1123Subdomain(masked);
    }
  }
  return {};
}

void ValidateObjectMeta(const json::object& metadata, bool namespaced, NameRule rule,
                        std::vector<StatusCause>& causes) {
  const auto* generate_name = StringField(metadata, "generateName", "metadata.generateName", causes);
  if (generate_name != nullptr && !generate_name->empty()) {
    for (const auto& msg : ValidateName(*generate_name, rule, true)) {
      AddInvalid(causes, "metadata.generateName", json::string(*generate_name), msg);
    }
  }
  const auto* name = StringField(metadata, "name", "metadata.name", causes);
  if (name == nullptr || name->empty()) {
    if (generate_name == nullptr || generate_name->empty()) {
      Add(causes, "FieldValueRequired", "Required value: name or generateName is required", "metadata.name");
    }
  } else {
    for (const auto& msg : ValidateName(*name, rule, false))
      AddInvalid(causes, "metadata.name", json::string(*name), msg);
  }

  const auto* ns = StringField(metadata, "namespace", "metadata.namespace", causes);
  if (namespaced) {
    if (ns == nullptr || ns->empty()) {
      Add(causes, "FieldValueRequired", "Required value", "metadata.namespace");
    } else {
      for (const auto& msg : IsDNS1123Label(*ns)) AddInvalid(causes, "metadata.namespace", json::string(*ns), msg);
    }
  } else if (ns != nullptr && !ns->empty()) {
    Add(causes, "FieldValueForbidden", "Forbidden: not allowed on this type", "metadata.namespace");
  }

  if (const auto* gen = metadata.if_contains("generation"); gen != nullptr && !gen->is_null()) {
    if (!internal::IsIntegral(*gen)) {
      AddTypeInvalid(causes, "metadata.generation", *gen, "integer");
    } else if (internal::AsDouble(*gen) < 0) {
      AddInvalid(causes, "metadata.generation", *gen, "must be greater than or equal to 0");
    }
  }
  if (const auto* labels = StringMapField(metadata, "labels", "metadata.labels", causes)) {
    ValidateLabels(*labels, "metadata.labels", causes);
  }
  if (const auto* annotations = StringMapField(metadata, "annotations", "metadata.annotations", causes)) {
    ValidateAnnotations(*annotations, "metadata.annotations", causes);
  }
  if (const auto* f = metadata.if_contains("finalizers"); f != nullptr && !f->is_null()) {
    ValidateFinalizers(*f, "metadata.finalizers", causes);
  }
  if (const auto* o = metadata.if_contains("ownerReferences"); o != nullptr && !o->is_null()) {
    ValidateOwnerReferences(*o, "metadata.ownerReferences", causes);
  }
}

std::string FormatCauses(const std::vector<StatusCause>& causes) {
  std::vector<std::string> parts;
  std::set<std::string> seen;
  for (const auto& c : causes) {
    std::string s = c.field.empty() ? c.message : c.field + ": " + c.message;
    if (seen.insert(s).second) parts.push_back(std::move(s));
  }
  if (parts.size() == 1) return parts[0];
  return "[" + internal::Join(parts, ", ") + "]";
}

Status MakeInvalid(std::string_view qualified_kind, std::string_view name, std::vector<StatusCause> causes) {
  std::string msg = std::string(qualified_kind) + " " + GoQuote(name) + " is invalid";
  if (!causes.empty()) msg += ": " + FormatCauses(causes);
  Status s = Status::Invalid(std::move(msg));
  for (auto& c : causes) s.add_cause(std::move(c));
  return s;
}

}  // namespace setpoint::api
