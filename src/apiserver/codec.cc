// The codec stage (codec.h).
#include "apiserver/codec.h"

#include <cctype>

#include <boost/json.hpp>

#include "api/protobuf_core.h"
#include "apiserver/request_info.h"
#include "apiserver/table.h"
#include "setpoint/api/yaml.h"
#include "setpoint/common/json.h"

namespace setpoint::apiserver {

namespace json = boost::json;

// ---------------------------------------------------------------------------------------------
// Decoding

std::string MediaType(std::string_view content_type) {
  std::string out;
  for (char c : content_type) {
    if (c == ';') break;
    if (c != ' ') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

bool IsConfigKind(const ResourceInfo& r) {
  return r.special == SpecialKind::kConfigMap || r.special == SpecialKind::kSecret;
}

Result<json::value> DecodeBody(const HttpRequest& req, bool strict, const ResourceInfo* res) {
  std::string type = MediaType(req.header("content-type"));
  if (req.body.empty()) return Err(Status::BadRequest("the body of the request was empty"));
  // kubectl 1.32+ (`create configmap|secret`) and protobuf-configured typed clients send these.
  if (type == api::kProtobufMediaType && res && IsConfigKind(*res)) {
    auto obj = api::DecodeProtobufObject(req.body);
    if (!obj) return Err(obj.error());
    return json::value(std::move(*obj));
  }
  if (type.empty() || type == "application/json" || type == "*/*") {
    if (strict)
      if (auto dup = FindDuplicateKey(req.body))
        return Err(Status::BadRequest("strict decoding error: duplicate field \"" + *dup + "\""));
    return ParseJson(req.body);
  }
  if (type == "application/yaml" || type == "application/x-yaml" || type == "text/yaml") {
    std::vector<std::string> duplicates;
    auto v = api::YamlToJson(req.body, kMaxJsonDepth, &duplicates);
    if (v && strict && !duplicates.empty())
      return Err(Status::BadRequest("strict decoding error: duplicate field \"" + duplicates.front() + "\""));
    return v;
  }
  return Err(
      Status::UnsupportedMediaType("the body of the request was in an unknown format - accepted media types include: "
                                   "application/json, application/yaml"));
}

Result<json::object> DecodeObject(const HttpRequest& req, bool strict, const ResourceInfo* res) {
  auto v = DecodeBody(req, strict, res);
  if (!v) return Err(v.error());
  if (!v->is_object()) return Err(Status::BadRequest("the body of the request must be a JSON object"));
  return std::move(v->get_object());
}

// ---------------------------------------------------------------------------------------------
// Negotiation

AcceptedAs ParseAccept(std::string_view accept) {
  std::size_t i = 0;
  while (i <= accept.size()) {
    std::size_t j = accept.find(',', i);
    if (j == std::string_view::npos) j = accept.size();
    std::string_view range = accept.substr(i, j - i);
    AcceptedAs out;
    std::string_view type, group;
    std::size_t k = 0;
    for (bool first = true; k <= range.size(); first = false) {
      std::size_t e = range.find(';', k);
      if (e == std::string_view::npos) e = range.size();
      std::string_view part = range.substr(k, e - k);
      while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
      while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
      if (first)
        type = part;
      else if (part.starts_with("as="))
        out.as = std::string(part.substr(3));
      else if (part.starts_with("g="))
        group = part.substr(2);
      else if (part.starts_with("v="))
        out.version = std::string(part.substr(2));
      k = e + 1;
    }
    const bool json_type = type.empty() || type == "application/json" || type == "*/*" || type == "application/*";
    if (json_type && (out.as.empty() || group == "meta.k8s.io")) {
      if (out.as.empty()) out.version = "v1";
      return out;
    }
    if (j == accept.size()) break;
    i = j + 1;
  }
  return {};
}

std::optional<Status> Unacceptable(const AcceptedAs& a, bool list) {
  if (a.as.empty() || a.as == "Table") return std::nullopt;
  const std::string_view want = list ? "PartialObjectMetadataList" : "PartialObjectMetadata";
  if (a.as == want && (a.version == "v1" || a.version == "v1beta1")) return std::nullopt;
  return Status::NotAcceptable(
      "only the following media types are accepted: application/json, "
      "application/json;as=Table;g=meta.k8s.io;v=v1, application/json;as=" +
      std::string(want) + ";g=meta.k8s.io;v=v1");
}

std::optional<std::string> MetadataVersion(const AcceptedAs& a, bool list) {
  if (a.as != (list ? "PartialObjectMetadataList" : "PartialObjectMetadata")) return std::nullopt;
  return "meta.k8s.io/" + a.version;
}

// ---------------------------------------------------------------------------------------------
// Rendering

void AddWarnings(HttpResponse& r, const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) r.headers.emplace_back("Warning", "299 - \"" + w + "\"");
}

HttpResponse StatusResponse(const Status& status, const ResourceInfo* res, std::string_view name,
                            const std::vector<std::string>& warnings) {
  json::object body;
  body["kind"] = "Status";
  body["apiVersion"] = "v1";
  body["metadata"] = json::object();
  body["status"] = "Failure";
  body["message"] = status.message();
  body["reason"] = std::string(status.reason());
  json::object details;
  if (!name.empty()) details["name"] = std::string(name);
  if (res) {
    if (!res->group.empty()) details["group"] = res->group;
    // Invalid errors name the kind (kubectl prints "The Widget "x" is invalid"); others the resource.
    details["kind"] = status.code() == StatusCode::kInvalid ? res->kind : res->resource;
  }
  if (!status.causes().empty()) {
    json::array causes;
    for (const auto& c : status.causes()) {
      json::object co;
      if (!c.reason.empty()) co["reason"] = c.reason;
      if (!c.message.empty()) co["message"] = c.message;
      if (!c.field.empty()) co["field"] = c.field;
      causes.push_back(std::move(co));
    }
    details["causes"] = std::move(causes);
  }
  if (status.retry_after_seconds()) details["retryAfterSeconds"] = status.retry_after_seconds();
  if (!details.empty()) body["details"] = std::move(details);
  body["code"] = status.http_code();
  HttpResponse r;
  r.status = status.http_code();
  r.body = json::serialize(body);
  if (status.retry_after_seconds()) r.headers.emplace_back("Retry-After", std::to_string(status.retry_after_seconds()));
  AddWarnings(r, warnings);
  return r;
}

std::string EncodeForStorage(const json::object& obj) {
  const json::object* meta = GetObject(obj, "metadata");
  if (!meta || !meta->contains("resourceVersion")) return json::serialize(obj);
  json::object copy = obj;
  if (json::object* meta = GetObject(copy, "metadata")) meta->erase("resourceVersion");
  return json::serialize(copy);
}

// `{"kind":"PartialObjectMetadata",...,"metadata":<the object's metadata bytes>}`.
void AppendPartialMetadata(std::string& out, const store::CachedObject& obj, std::string_view api_version) {
  out += "{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"";
  out += api_version;
  out += "\",\"metadata\":";
  out += obj.metadata_json();
  out += '}';
}

std::string RenderForVersion(const ResourceInfo& res, std::string_view version, const store::CachedObject& obj) {
  if (version == res.storage_version) return std::string(obj.json);
  auto parsed = ParseJson(obj.json);
  if (!parsed || !parsed->is_object()) return std::string(obj.json);
  parsed->get_object()["apiVersion"] = res.api_version(version);
  return json::serialize(*parsed);
}

std::string RenderTable(const std::vector<PrinterColumn>& columns, const std::vector<store::CachedObjectPtr>& items,
                        store::Revision revision, const std::string& cont, bool include_object, WallTime now) {
  json::object table;
  table["kind"] = "Table";
  table["apiVersion"] = "meta.k8s.io/v1";
  json::object meta{{"resourceVersion", std::to_string(revision)}};
  if (!cont.empty()) meta["continue"] = cont;
  table["metadata"] = std::move(meta);
  table["columnDefinitions"] = TableColumns(columns);
  json::array rows;
  for (const auto& o : items) {
    auto parsed = ParseJson(o->json);
    if (!parsed || !parsed->is_object()) continue;
    rows.push_back(TableRow(columns, parsed->get_object(), now, include_object));
  }
  table["rows"] = std::move(rows);
  return json::serialize(table);
}

}  // namespace setpoint::apiserver
