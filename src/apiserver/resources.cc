#include "apiserver/resources.h"

#include <algorithm>
#include <functional>

#include <boost/json.hpp>

#include "apiserver/setpoint_kinds.h"
#include "setpoint/api/validation.h"
#include "setpoint/common/json.h"

namespace setpoint::apiserver {

namespace json = boost::json;

const VersionInfo* ResourceInfo::version(std::string_view v) const {
  for (const auto& ver : versions)
    if (ver.name == v && ver.served) return &ver;
  return nullptr;
}

std::string ResourceInfo::key_prefix() const {
  return "/registry/" + (group.empty() ? std::string("core") : group) + "/" + resource + "/";
}

std::string ResourceInfo::key(std::string_view ns, std::string_view name) const {
  std::string k = key_prefix();
  if (namespaced) {
    k.append(ns);
    k.push_back('/');
  }
  k.append(name);
  return k;
}

ResourceInfoPtr RegistrySnapshot::find(std::string_view group, std::string_view resource) const {
  std::string k(group);
  k.push_back('/');
  k.append(resource);
  auto it = by_group_resource.find(k);
  return it == by_group_resource.end() ? nullptr : it->second;
}

namespace {

PrinterColumn AgeColumn() {
  return {"Age",
          "date",
          "",
          "CreationTimestamp is a timestamp representing the server time when this object was created.",
          ".metadata.creationTimestamp",
          0};
}

ResourceInfoPtr Builtin(std::string group, std::string version, std::string resource, std::string singular,
                        std::string kind, bool namespaced, std::vector<std::string> short_names, SpecialKind special,
                        std::vector<PrinterColumn> columns) {
  auto r = std::make_shared<ResourceInfo>();
  r->group = std::move(group);
  r->resource = std::move(resource);
  r->singular = std::move(singular);
  r->kind = kind;
  r->list_kind = kind + "List";
  r->namespaced = namespaced;
  r->short_names = std::move(short_names);
  VersionInfo v;
  v.name = version;
  v.storage = true;
  v.columns = std::move(columns);
  r->versions.push_back(std::move(v));
  r->storage_version = version;
  r->special = special;
  r->builtin = true;
  return r;
}

// The published OpenAPI v3 schemas of ConfigMap and Secret (for `kubectl explain` and for
// kubectl's strategic-merge-patch metadata); the server's own checks are in
// api/validation_core.h, not here.
constexpr std::string_view kConfigMapOpenApi = R"({
  "type": "object",
  "description": "ConfigMap holds non-confidential configuration as key-value pairs.",
  "properties": {
    "data": {"type": "object", "additionalProperties": {"type": "string", "default": ""},
      "description": "Text configuration values by key. Keys consist of alphanumerics, '-', '_' and '.', and may not also appear in binaryData."},
    "binaryData": {"type": "object", "additionalProperties": {"type": "string", "format": "byte"},
      "description": "Binary configuration values by key, base64-encoded. Keys follow the rules of data and may not also appear there."},
    "immutable": {"type": "boolean",
      "description": "When true, data and binaryData can no longer change (metadata still can), and immutable cannot be unset."}
  }
})";

constexpr std::string_view kSecretOpenApi = R"({
  "type": "object",
  "description": "Secret holds confidential data of a given type; its values may total at most 1 MiB.",
  "properties": {
    "data": {"type": "object", "additionalProperties": {"type": "string", "format": "byte"},
      "description": "Secret values by key, base64-encoded. Keys consist of alphanumerics, '-', '_' and '.'."},
    "stringData": {"type": "object", "additionalProperties": {"type": "string", "default": ""},
      "description": "Write-only plain-text values, merged into data on every write (replacing values of the same key); never returned."},
    "type": {"type": "string",
      "description": "What the data is for, e.g. Opaque (the default), kubernetes.io/tls or kubernetes.io/dockerconfigjson; some types require particular keys. Cannot change once set."},
    "immutable": {"type": "boolean",
      "description": "When true, data can no longer change (metadata still can), and immutable cannot be unset."}
  }
})";

// Upstream's ConfigMap and Secret kinds: no spec, no status, no generation.
ResourceInfoPtr ConfigKind(std::string resource, std::string singular, std::string kind,
                           std::vector<std::string> short_names, SpecialKind special,
                           std::vector<PrinterColumn> columns, std::string_view openapi) {
  auto r = Builtin("", "v1", std::move(resource), std::move(singular), std::move(kind), true, std::move(short_names),
                   special, std::move(columns));
  auto m = std::const_pointer_cast<ResourceInfo>(r);
  m->generation = false;
  m->versions[0].openapi = json::parse(openapi);
  return r;
}

}  // namespace

std::vector<ResourceInfoPtr> BuiltinResources() {
  std::vector<ResourceInfoPtr> out;
  {
    auto ns = Builtin("", "v1", "namespaces", "namespace", "Namespace", false, {"ns"}, SpecialKind::kNamespace,
                      {{"Status", "string", "", "The phase of the namespace", ".status.phase", 0}, AgeColumn()});
    auto m = std::const_pointer_cast<ResourceInfo>(ns);
    m->status_subresource = true;
    m->selectable_fields = {"status.phase"};
    out.push_back(ns);
  }
  {
    auto ev = Builtin("", "v1", "events", "event", "Event", true, {"ev"}, SpecialKind::kEvent,
                      {{"Last Seen", "date", "", "", ".lastTimestamp", 0},
                       {"Type", "string", "", "", ".type", 0},
                       {"Reason", "string", "", "", ".reason", 0},
                       {"Object", "string", "", "", ".involvedObject.name", 0},
                       {"Message", "string", "", "", ".message", 0}});
    auto m = std::const_pointer_cast<ResourceInfo>(ev);
    m->selectable_fields = {"involvedObject.kind",
                            "involvedObject.namespace",
                            "involvedObject.name",
                            "involvedObject.uid",
                            "involvedObject.apiVersion",
                            "involvedObject.resourceVersion",
                            "involvedObject.fieldPath",
                            "reason",
                            "reportingComponent",
                            "source",
                            "type"};
    out.push_back(ev);
  }
  {
    // As kubectl prints them: NAME DATA AGE and NAME TYPE DATA AGE, DATA counting keys.
    PrinterColumn cm_data{
        "Data", "integer", "", "Number of keys in data and binaryData.", "", 0, {".data", ".binaryData"}};
    out.push_back(ConfigKind("configmaps", "configmap", "ConfigMap", {"cm"}, SpecialKind::kConfigMap,
                             {cm_data, AgeColumn()}, kConfigMapOpenApi));
    PrinterColumn secret_type{"Type", "string", "", "What the data is for.", ".type", 0, {}};
    PrinterColumn secret_data{"Data", "integer", "", "Number of keys in data.", "", 0, {".data"}};
    out.push_back(ConfigKind("secrets", "secret", "Secret", {}, SpecialKind::kSecret,
                             {secret_type, secret_data, AgeColumn()}, kSecretOpenApi));
  }
  out.push_back(Builtin("coordination.k8s.io", "v1", "leases", "lease", "Lease", true, {}, SpecialKind::kLease,
                        {{"Holder", "string", "", "", ".spec.holderIdentity", 0}, AgeColumn()}));
  {
    auto crd = Builtin("apiextensions.k8s.io", "v1", "customresourcedefinitions", "customresourcedefinition",
                       "CustomResourceDefinition", false, {"crd", "crds"}, SpecialKind::kCustomResourceDefinition,
                       {{"Created At", "date", "", "", ".metadata.creationTimestamp", 0}});
    auto m = std::const_pointer_cast<ResourceInfo>(crd);
    m->status_subresource = true;
    m->categories = {"api-extensions"};
    out.push_back(crd);
  }
  return out;
}

Result<ResourceInfoPtr> ResourceFromCrd(const json::object& crd) {
  Status invalid = Status::Invalid("");
  auto fail = [&](std::string field, std::string reason, std::string message) {
    invalid.add_cause({std::move(reason), std::move(message), std::move(field)});
  };
  auto r = std::make_shared<ResourceInfo>();
  const json::object* meta = GetObject(crd, "metadata");
  std::string name = meta ? std::string(GetStringOr(*meta, "name", "")) : "";
  const json::object* spec = GetObject(crd, "spec");
  if (!spec) {
    fail("spec", "FieldValueRequired", "Required value");
    return Err(invalid);
  }
  r->group = std::string(GetStringOr(*spec, "group", ""));
  if (r->group.empty())
    fail("spec.group", "FieldValueRequired", "Required value");
  else if (r->group.find('.') == std::string::npos)
    fail("spec.group", "FieldValueInvalid",
         "Invalid value: \"" + r->group + "\": should be a domain with at least one dot");
  const json::object* names = GetObject(*spec, "names");
  if (!names) {
    fail("spec.names", "FieldValueRequired", "Required value");
    return Err(invalid);
  }
  r->resource = std::string(GetStringOr(*names, "plural", ""));
  r->kind = std::string(GetStringOr(*names, "kind", ""));
  r->singular = std::string(GetStringOr(*names, "singular", ""));
  if (r->singular.empty()) {
    r->singular = r->kind;
    std::transform(r->singular.begin(), r->singular.end(), r->singular.begin(), ::tolower);
  }
  r->list_kind = std::string(GetStringOr(*names, "listKind", ""));
  if (r->list_kind.empty()) r->list_kind = r->kind + "List";
  if (r->resource.empty())
    fail("spec.names.plural", "FieldValueRequired", "Required value");
  else if (!api::IsDNS1123Label(r->resource).empty())
    fail("spec.names.plural", "FieldValueInvalid",
         "Invalid value: \"" + r->resource +
             "\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'");
  if (r->kind.empty()) fail("spec.names.kind", "FieldValueRequired", "Required value");
  if (!r->resource.empty() && !r->group.empty() && name != r->resource + "." + r->group)
    fail("metadata.name", "FieldValueInvalid",
         "Invalid value: \"" + name + "\": must be spec.names.plural+\".\"+spec.group");
  if (auto a = GetArray(*names, "shortNames"))
    for (const auto& v : *a)
      if (v.is_string()) r->short_names.emplace_back(v.get_string());
  if (auto a = GetArray(*names, "categories"))
    for (const auto& v : *a)
      if (v.is_string()) r->categories.emplace_back(v.get_string());
  std::string scope(GetStringOr(*spec, "scope", ""));
  if (scope == "Namespaced")
    r->namespaced = true;
  else if (scope == "Cluster")
    r->namespaced = false;
  else
    fail("spec.scope", scope.empty() ? "FieldValueRequired" : "FieldValueNotSupported",
         scope.empty() ? "Required value"
                       : "Unsupported value: \"" + scope + "\": supported values: \"Cluster\", \"Namespaced\"");
  const json::array* versions = GetArray(*spec, "versions");
  if (!versions || versions->empty()) {
    fail("spec.versions", "FieldValueRequired",
         "Required value: must have exactly one version marked as storage version");
    return Err(invalid);
  }
  int storage_count = 0;
  bool first_status = false, first_scale = false;
  for (std::size_t i = 0; i < versions->size(); ++i) {
    std::string path = "spec.versions[" + std::to_string(i) + "]";
    if (!(*versions)[i].is_object()) {
      fail(path, "FieldValueInvalid", "Invalid value: must be an object");
      continue;
    }
    const json::object& v = (*versions)[i].get_object();
    VersionInfo vi;
    vi.name = std::string(GetStringOr(v, "name", ""));
    if (vi.name.empty()) fail(path + ".name", "FieldValueRequired", "Required value");
    auto served = v.find("served");
    vi.served = served != v.end() && served->value().is_bool() && served->value().get_bool();
    auto storage = v.find("storage");
    vi.storage = storage != v.end() && storage->value().is_bool() && storage->value().get_bool();
    if (vi.storage) {
      ++storage_count;
      r->storage_version = vi.name;
    }
    if (const json::object* schema = GetObject(v, "schema")) {
      auto it = schema->find("openAPIV3Schema");
      if (it != schema->end()) {
        auto compiled = api::Schema::Compile(it->value());
        if (!compiled) {
          for (const auto& c : compiled.error().causes())
            fail(path + ".schema.openAPIV3Schema" + (c.field.empty() ? "" : "." + c.field), c.reason, c.message);
          if (compiled.error().causes().empty())
            fail(path + ".schema.openAPIV3Schema", "FieldValueInvalid", compiled.error().message());
        } else {
          vi.schema = *compiled;
          vi.openapi = it->value();
        }
      }
    }
    if (!vi.schema)
      fail(path + ".schema.openAPIV3Schema", "FieldValueRequired", "Required value: schemas are required");
    if (const json::object* sub = GetObject(v, "subresources")) {
      bool has_status = sub->contains("status");
      bool has_scale = GetObject(*sub, "scale") != nullptr;
      if (i == 0) {
        first_status = has_status;
        first_scale = has_scale;
      }
      r->status_subresource = r->status_subresource || has_status;
      if (const json::object* scale = GetObject(*sub, "scale")) {
        r->scale_subresource = true;
        r->spec_replicas_path = std::string(GetStringOr(*scale, "specReplicasPath", ""));
        r->status_replicas_path = std::string(GetStringOr(*scale, "statusReplicasPath", ""));
        r->label_selector_path = std::string(GetStringOr(*scale, "labelSelectorPath", ""));
        if (r->spec_replicas_path.rfind(".spec.", 0) != 0)
          fail(path + ".subresources.scale.specReplicasPath", "FieldValueInvalid",
               "Invalid value: \"" + r->spec_replicas_path + "\": should be a json path under .spec");
        if (r->status_replicas_path.rfind(".status.", 0) != 0)
          fail(path + ".subresources.scale.statusReplicasPath", "FieldValueInvalid",
               "Invalid value: \"" + r->status_replicas_path + "\": should be a json path under .status");
      }
    }
    if (const json::array* cols = GetArray(v, "additionalPrinterColumns")) {
      for (std::size_t c = 0; c < cols->size(); ++c) {
        if (!(*cols)[c].is_object()) continue;
        const json::object& co = (*cols)[c].get_object();
        PrinterColumn pc;
        pc.name = std::string(GetStringOr(co, "name", ""));
        pc.type = std::string(GetStringOr(co, "type", ""));
        pc.format = std::string(GetStringOr(co, "format", ""));
        pc.description = std::string(GetStringOr(co, "description", ""));
        pc.json_path = std::string(GetStringOr(co, "jsonPath", ""));
        pc.priority = static_cast<int>(GetInt(co, "priority").value_or(0));
        std::string cpath = path + ".additionalPrinterColumns[" + std::to_string(c) + "]";
        if (pc.name.empty()) fail(cpath + ".name", "FieldValueRequired", "Required value");
        if (pc.json_path.empty()) fail(cpath + ".jsonPath", "FieldValueRequired", "Required value");
        static const std::set<std::string> kTypes = {"integer", "number", "string", "boolean", "date"};
        if (!kTypes.count(pc.type))
          fail(cpath + ".type", "FieldValueNotSupported",
               "Unsupported value: \"" + pc.type +
                   "\": supported values: \"boolean\", \"date\", \"integer\", \"number\", \"string\"");
        vi.columns.push_back(std::move(pc));
      }
    } else {
      vi.columns.push_back(AgeColumn());
    }
    r->versions.push_back(std::move(vi));
  }
  (void)first_status;
  (void)first_scale;
  if (storage_count != 1)
    fail("spec.versions", "FieldValueInvalid",
         "Invalid value: must have exactly one version marked as storage version");
  bool any_served = std::any_of(r->versions.begin(), r->versions.end(), [](auto& v) { return v.served; });
  if (!any_served) fail("spec.versions", "FieldValueInvalid", "Invalid value: must have at least one served version");
  if (!invalid.causes().empty()) return Err(invalid);
  r->crd_name = name;
  if (const json::object* m = GetObject(crd, "metadata");
      m && m->contains("deletionTimestamp") && !m->at("deletionTimestamp").is_null())
    r->terminating = true;
  return ResourceInfoPtr(std::move(r));
}

}  // namespace setpoint::apiserver
