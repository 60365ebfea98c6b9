// The three PATCH body formats the Kubernetes API accepts, as pure functions on JSON values:
//   application/merge-patch+json            ApplyMergePatch          (RFC 7386)
//   application/json-patch+json             ApplyJsonPatch           (RFC 6902)
//   application/strategic-merge-patch+json  ApplyStrategicMergePatch (the subset kubectl sends)
//
// Every function returns a new value and leaves its inputs untouched, so a failed patch never
// leaves a half-applied document. Error contract: a malformed patch document is BadRequest
// (400); a well-formed patch that cannot be applied to this target (missing path, failed
// `test`, index out of range) is Invalid (422), as the kube-apiserver answers.
//
// Free functions; no state; thread-safe.
#pragma once

#include <boost/json.hpp>
#include <map>
#include <string>

#include "setpoint/common/status.h"

namespace setpoint::api {

// RFC 7386: a null member deletes, an object merges recursively, anything else (including an
// array) replaces; a non-object patch replaces the whole target.
Result<boost::json::value> ApplyMergePatch(const boost::json::value& target, const boost::json::value& patch);

// Upper bounds that keep a JSON patch from consuming unbounded CPU or memory.
inline constexpr std::size_t kMaxJsonPatchOperations = 10000;     // as kube-apiserver
inline constexpr std::size_t kMaxJsonPatchCopiedNodes = 1 << 20;  // JSON nodes duplicated by "copy"

// RFC 6902: an array of {op, path, value|from} with op add/remove/replace/move/copy/test; JSON
// pointers with ~0/~1 escapes; "-" appends to an array in add, move and copy targets. Numbers
// compare by value in `test` (1 == 1.0). More than kMaxJsonPatchOperations operations is
// RequestEntityTooLarge.
Result<boost::json::value> ApplyJsonPatch(const boost::json::value& target, const boost::json::value& patch);

// Which lists merge instead of being replaced, by dotted path from the object root with no
// array indices (e.g. "metadata.ownerReferences"). The value is the merge key of an object
// list, or "" for a list of primitives merged as a set.
struct StrategicMergeSchema {
  std::map<std::string, std::string> merge_keys;
};

// metadata.finalizers (primitive set) and metadata.ownerReferences (keyed by uid): what every
// kind shares. Namespace, Lease and Event have no other merge lists that kubectl relies on.
StrategicMergeSchema DefaultStrategicMergeSchema();

// Strategic merge patch, the subset kubectl sends for built-in kinds:
//  - objects merge recursively as in a merge patch; null deletes
//  - `$patch: replace` in an object replaces it with the rest of that object;
//    `$patch: delete` in an object empties it (upstream yields {}); `$patch: merge` is the default
//  - `$retainKeys: [..]` drops keys of the target object not listed (every key the patch sets
//    must be listed)
//  - `$deleteFromPrimitiveList/<f>: [..]` removes those values from the primitive list <f>
//  - `$setElementOrder/<f>: [..]` orders the merged list <f>: listed elements first in that
//    order, then the others in their merged order
//  - lists are replaced unless `schema` marks them: primitive merge lists become the ordered
//    union without duplicates; keyed object lists merge items by key, an item with
//    `$patch: delete` removes the keyed item, an item `{"$patch": "replace"}` makes the rest of
//    the patch list replace the target list
// A non-object patch, an unknown directive or an item without its merge key is BadRequest.
Result<boost::json::value> ApplyStrategicMergePatch(const boost::json::value& target, const boost::json::value& patch,
                                                    const StrategicMergeSchema& schema);

}  // namespace setpoint::api
