// The codec stage, in one place: what a request's body is (JSON, YAML, or protobuf for the kinds
// that have it), what the client accepts (content negotiation), and the bytes of every answer (an
// object in the version asked for, PartialObjectMetadata, a Table, a Status). Pure functions of
// their arguments; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "apiserver/http.h"
#include "apiserver/resources.h"
#include "setpoint/common/clock.h"
#include "setpoint/common/status.h"
#include "store/cache/watch_cache.h"

namespace setpoint::apiserver {

// ---- Decoding

// The media type without parameters, lower-cased ("application/json").
std::string MediaType(std::string_view content_type);
bool IsConfigKind(const ResourceInfo& r);  // ConfigMap or Secret (they decode as typed objects)
// A body as JSON, strict (duplicate fields refused) or not. Errors: BadRequest (empty, malformed,
// too deep, a number out of range), UnsupportedMediaType.
Result<boost::json::value> DecodeBody(const HttpRequest& req, bool strict, const ResourceInfo* res);
// The same, required to be an object.
Result<boost::json::object> DecodeObject(const HttpRequest& req, bool strict, const ResourceInfo* res);
// Serialises an object for storage: everything but metadata.resourceVersion.
std::string EncodeForStorage(const boost::json::object& obj);

// ---- Negotiation

// The meta.k8s.io rendering ("Table", "PartialObjectMetadata", "PartialObjectMetadataList") that
// the first JSON media range of an Accept header asks for, with its version ("v1" unless named);
// empty `as` for plain objects. Ranges this server cannot produce (protobuf) are skipped, as
// kube-apiserver's negotiation does; ranges with `as` for another group are too.
struct AcceptedAs {
  std::string as;
  std::string version = "v1";
};
AcceptedAs ParseAccept(std::string_view accept);
// NotAcceptable (406) when Accept asks only for a meta.k8s.io rendering a get (list: false) or a
// list cannot have.
std::optional<Status> Unacceptable(const AcceptedAs& accepted, bool list);
// The apiVersion ("meta.k8s.io/v1") when Accept asks for PartialObjectMetadata (list: false) or
// PartialObjectMetadataList; nullopt otherwise.
std::optional<std::string> MetadataVersion(const AcceptedAs& accepted, bool list);

// ---- Rendering

// A Kubernetes Status answer: reason, message, details (name, group, and the kind for Invalid
// errors or the resource otherwise; causes, retryAfterSeconds), with its HTTP code.
HttpResponse StatusResponse(const Status& status, const ResourceInfo* res, std::string_view name,
                            const std::vector<std::string>& warnings);
// Warning: 299 headers, one per warning.
void AddWarnings(HttpResponse& r, const std::vector<std::string>& warnings);
// A stored object as `version` of its resource (conversion strategy None: only apiVersion changes).
std::string RenderForVersion(const ResourceInfo& res, std::string_view version, const store::CachedObject& obj);
// `{"kind":"PartialObjectMetadata",...,"metadata":<the object's metadata bytes>}`.
void AppendPartialMetadata(std::string& out, const store::CachedObject& obj, std::string_view api_version);
// A meta.k8s.io/v1 Table of `items` with these columns (rows carry the object's metadata as
// PartialObjectMetadata unless include_object is false).
std::string RenderTable(const std::vector<PrinterColumn>& columns, const std::vector<store::CachedObjectPtr>& items,
                        store::Revision revision, const std::string& cont, bool include_object, WallTime now);

}  // namespace setpoint::apiserver
