// Private to the API handler: the per-request context and small shared helpers.
#pragma once

#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "apiserver/api_handler.h"

namespace setpoint::apiserver {

// The meta.k8s.io rendering ("Table", "PartialObjectMetadata", "PartialObjectMetadataList") that
// the first JSON media range of an Accept header asks for, with its version ("v1" unless named);
// empty `as` for plain objects. Ranges this server cannot produce (protobuf) are skipped, as
// kube-apiserver's negotiation does; ranges with `as` for another group are too.
struct AcceptedAs {
  std::string as;
  std::string version = "v1";
};
AcceptedAs ParseAccept(std::string_view accept);

struct ApiHandler::Ctx {
  HttpRequest& req;
  QueryParams q;
  RequestInfo ri;
  RegistrySnapshotPtr reg;
  ResourceInfoPtr res;
  const VersionInfo* ver = nullptr;
  UserInfo user;
  std::vector<std::string> warnings;
  bool dry_run = false;
  // What to do with unknown and duplicate fields (the fieldValidation parameter; absent: Warn, as
  // upstream; the server's own writes: Strict).
  enum class FieldValidation { kIgnore, kWarn, kStrict };
  FieldValidation field_validation = FieldValidation::kStrict;
  bool strict() const { return field_validation == FieldValidation::kStrict; }
  bool name_generated = false;
  int create_attempts = 0;  // create: the name came from generateName (retry on collision)
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  AcceptedAs accept;  // the request's Accept header, parsed once

  Ctx(HttpRequest& r, QueryParams params) : req(r), q(std::move(params)), accept(ParseAccept(r.header("accept"))) {}
  std::string api_version() const { return res->api_version(ri.version); }
};

// "widgets.example.com" or "namespaces" as upstream names a resource in messages.
inline std::string QualifiedResource(const ResourceInfo& r) { return r.qualified(); }

// Serialises an object for storage: everything but metadata.resourceVersion.
std::string EncodeForStorage(const boost::json::object& obj);

// `{"kind":"PartialObjectMetadata",...,"metadata":<the object's metadata bytes>}`.
void AppendPartialMetadata(std::string& out, const store::CachedObject& obj, std::string_view api_version);

// Upstream message for a Status with field causes.
Status InvalidStatus(const ResourceInfo& r, std::string_view name, std::vector<StatusCause> causes);

}  // namespace setpoint::apiserver
