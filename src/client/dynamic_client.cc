#include "setpoint/client/dynamic_client.h"

#include <boost/json.hpp>

#include "setpoint/common/json.h"

namespace setpoint::client {

namespace json = boost::json;

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string_view PatchContentType(PatchType t) {
  switch (t) {
    case PatchType::kMerge:
      return "application/merge-patch+json";
    case PatchType::kJson:
      return "application/json-patch+json";
    case PatchType::kStrategicMerge:
      return "application/strategic-merge-patch+json";
  }
  return "application/merge-patch+json";
}

std::string ResourcePath(const GroupVersionResource& gvr, std::string_view ns, std::string_view name,
                         std::string_view subresource) {
  std::string p = gvr.group.empty() ? "/api/" + UrlEncode(gvr.version)
                                    : "/apis/" + UrlEncode(gvr.group) + "/" + UrlEncode(gvr.version);
  if (gvr.namespaced && !ns.empty()) p += "/namespaces/" + UrlEncode(ns);
  p += "/" + UrlEncode(gvr.resource);
  if (!name.empty()) p += "/" + UrlEncode(name);
  if (!subresource.empty()) p += "/" + UrlEncode(subresource);
  return p;
}

namespace {

// Appends "?k=v&..." pairs with non-empty values.
class Query {
 public:
  Query& add(std::string_view key, std::string_view value) {
    if (value.empty()) return *this;
    text_ += text_.empty() ? '?' : '&';
    text_ += UrlEncode(key);
    text_ += '=';
    text_ += UrlEncode(value);
    return *this;
  }
  const std::string& str() const { return text_; }

 private:
  std::string text_;
};

Result<json::object> DecodeObject(const Result<Response>& r) {
  if (!r) return Err(r.error());
  auto v = ParseJson(r->body);
  if (!v || !v->is_object())
    return Err(Status::Internal("the server answered with something that is not a JSON object"));
  return std::move(v->as_object());
}

Status CheckNamespace(const GroupVersionResource& gvr, std::string_view ns) {
  if (gvr.namespaced && ns.empty()) return Status::BadRequest("a namespace is required for " + gvr.resource);
  return Status::Ok();
}

Result<std::string> NameOf(const json::object& obj) {
  const json::object* meta = GetObject(obj, "metadata");
  auto name = meta ? GetString(*meta, "name") : std::nullopt;
  if (!name || name->empty()) return Err(Status::BadRequest("the object has no metadata.name"));
  return std::string(*name);
}

}  // namespace

Result<json::object> DynamicClient::get(const GroupVersionResource& gvr, std::string_view ns, std::string_view name) {
  if (Status s = CheckNamespace(gvr, ns); !s.ok()) return Err(std::move(s));
  return DecodeObject(rest_.request(Method::kGet, ResourcePath(gvr, ns, name)));
}

Result<ObjectList> DynamicClient::list(const GroupVersionResource& gvr, std::string_view ns, const ListOptions& o) {
  Query q;
  q.add("labelSelector", o.label_selector)
      .add("fieldSelector", o.field_selector)
      .add("limit", o.limit > 0 ? std::to_string(o.limit) : "")
      .add("continue", o.continue_)
      .add("resourceVersion", o.resource_version)
      .add("resourceVersionMatch", o.resource_version_match);
  Headers headers;
  if (o.metadata_only) headers.emplace_back("Accept", std::string(kAcceptPartialMetadataList));
  auto body =
      DecodeObject(rest_.request(Method::kGet, ResourcePath(gvr, ns) + q.str(), {}, "application/json", headers));
  if (!body) return Err(body.error());
  ObjectList out;
  if (const json::object* meta = GetObject(*body, "metadata")) {
    out.resource_version = std::string(GetStringOr(*meta, "resourceVersion", ""));
    out.continue_ = std::string(GetStringOr(*meta, "continue", ""));
  }
  if (json::array* items = body->if_contains("items") ? body->at("items").if_array() : nullptr) {
    out.items.reserve(items->size());
    for (auto& item : *items) {
      if (!item.is_object()) continue;
      if (o.metadata_only) RestoreTypeMeta(gvr, item.as_object());
      out.items.push_back(std::move(item.as_object()));
    }
  }
  return out;
}

Result<json::object> DynamicClient::create(const GroupVersionResource& gvr, std::string_view ns,
                                           const json::object& obj) {
  if (Status s = CheckNamespace(gvr, ns); !s.ok()) return Err(std::move(s));
  return DecodeObject(rest_.request(Method::kPost, ResourcePath(gvr, ns), json::serialize(obj)));
}

Result<json::object> DynamicClient::update(const GroupVersionResource& gvr, std::string_view ns,
                                           const json::object& obj) {
  if (Status s = CheckNamespace(gvr, ns); !s.ok()) return Err(std::move(s));
  auto name = NameOf(obj);
  if (!name) return Err(name.error());
  return DecodeObject(rest_.request(Method::kPut, ResourcePath(gvr, ns, *name), json::serialize(obj)));
}

Result<json::object> DynamicClient::update_status(const GroupVersionResource& gvr, std::string_view ns,
                                                  const json::object& obj) {
  if (Status s = CheckNamespace(gvr, ns); !s.ok()) return Err(std::move(s));
  auto name = NameOf(obj);
  if (!name) return Err(name.error());
  return DecodeObject(rest_.request(Method::kPut, ResourcePath(gvr, ns, *name, "status"), json::serialize(obj)));
}

Result<json::object> DynamicClient::patch(const GroupVersionResource& gvr, std::string_view ns, std::string_view name,
                                          PatchType type, std::string_view body, std::string_view subresource) {
  if (Status s = CheckNamespace(gvr, ns); !s.ok()) return Err(std::move(s));
  return DecodeObject(
      rest_.request(Method::kPatch, ResourcePath(gvr, ns, name, subresource), body, PatchContentType(type)));
}

Result<json::object> DynamicClient::remove(const GroupVersionResource& gvr, std::string_view ns, std::string_view name,
                                           const DeleteOptions& o) {
  if (Status s = CheckNamespace(gvr, ns); !s.ok()) return Err(std::move(s));
  json::object body{{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (!o.propagation_policy.empty()) body["propagationPolicy"] = o.propagation_policy;
  if (o.grace_period_seconds) body["gracePeriodSeconds"] = *o.grace_period_seconds;
  if (!o.precondition_uid.empty() || !o.precondition_resource_version.empty()) {
    json::object pre;
    if (!o.precondition_uid.empty()) pre["uid"] = o.precondition_uid;
    if (!o.precondition_resource_version.empty()) pre["resourceVersion"] = o.precondition_resource_version;
    body["preconditions"] = std::move(pre);
  }
  return DecodeObject(rest_.request(Method::kDelete, ResourcePath(gvr, ns, name), json::serialize(body)));
}

Result<WatchStreamPtr> DynamicClient::watch(const GroupVersionResource& gvr, std::string_view ns,
                                            const WatchOptions& o) {
  Query q;
  q.add("watch", "true")
      .add("resourceVersion", o.resource_version)
      .add("labelSelector", o.label_selector)
      .add("fieldSelector", o.field_selector)
      .add("allowWatchBookmarks", o.allow_bookmarks || o.send_initial_events ? "true" : "")
      .add("timeoutSeconds", o.timeout_seconds > 0 ? std::to_string(o.timeout_seconds) : "")
      .add("sendInitialEvents", o.send_initial_events ? "true" : "")
      .add("resourceVersionMatch", o.send_initial_events ? "NotOlderThan" : "");
  if (o.metadata_only)
    return rest_.watch_with_headers(ResourcePath(gvr, ns) + q.str(), {{"Accept", std::string(kAcceptPartialMetadata)}});
  return rest_.watch(ResourcePath(gvr, ns) + q.str());
}

void RestoreTypeMeta(const GroupVersionResource& gvr, json::object& obj) {
  const auto* kind = obj.if_contains("kind");
  if (!kind || !kind->is_string() || kind->get_string() != "PartialObjectMetadata") return;
  obj["apiVersion"] = gvr.api_version();
  if (gvr.kind.empty())
    obj.erase("kind");
  else
    obj["kind"] = gvr.kind;
}

}  // namespace setpoint::client
