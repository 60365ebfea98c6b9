// Private to the API handler's write verbs: decoding a body, the metadata and finalizer rules
// they share, and the answers they give for a missing object or a lost race. Pure functions of
// their arguments; thread-safe.
#pragma once

#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "apiserver/codec.h"
#include "apiserver/resources.h"
#include "setpoint/common/status.h"
#include "setpoint/store/store.h"
#include "store/cache/watch_cache.h"

namespace setpoint::apiserver {

// An unconditional write that loses a race to another writer is tried again this often.
inline constexpr int kMaxConflictRetries = 32;

// The revision a write's resourceVersion (metadata or precondition) names: BadRequest when it is
// not a uint64 (or is 0, which no object has). A uint64 beyond int64 names no revision the store
// can reach: kUnreachableRevision, which conflicts with every object and is never waited for.
inline constexpr store::Revision kUnreachableRevision = std::numeric_limits<store::Revision>::max();
Result<store::Revision> WriteRevision(const std::string& rv);
// Whether to wait for the cache to reach `want` before judging a precondition against `current`.
bool WorthWaitingFor(store::Revision want, store::Revision current);

// Metadata: copies the fields only the server sets; an object without metadata and status (for
// generation bumps); equality ignoring metadata.resourceVersion (for no-op detection).
void CopySystemMetadata(const boost::json::object& from, boost::json::object& to);
boost::json::object WithoutMetaAndStatus(const boost::json::object& o);
bool SameIgnoringVersion(const boost::json::object& a, const boost::json::object& b);

// Finalizers and deletion: metadata.finalizers, spec.finalizers (namespaces), the propagation
// policy of a DeleteOptions and the finalizer it becomes (true when that changed the list).
std::vector<std::string> Finalizers(const boost::json::object& obj);
bool HasSpecFinalizers(const boost::json::object& obj);
void SetFinalizers(boost::json::object& meta, const std::vector<std::string>& finalizers);
std::string PropagationPolicy(const boost::json::object& options);
bool ApplyPropagationPolicy(const std::string& policy, std::vector<std::string>& finalizers);
bool IsDeleting(const boost::json::object& obj);

// A cached object parsed back into JSON.
Result<boost::json::object> ParseCached(const store::CachedObject& o);
// Upstream's 404 and 409 answers for a named object.
Status NotFound(const ResourceInfo& r, std::string_view name);
Status ConflictStatus(const ResourceInfo& r, std::string_view name);
// Sets `obj` at a ".a.b" path (creating objects on the way).
void SetPath(boost::json::object& obj, std::string_view path, boost::json::value v);

}  // namespace setpoint::apiserver
