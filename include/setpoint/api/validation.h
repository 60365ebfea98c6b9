// Kubernetes object metadata validation: the name, label and annotation rules of
// k8s.io/apimachinery/pkg/util/validation and pkg/api/validation/objectmeta.go, with the same
// error strings so clients (kubectl, client-go) print what users already know.
//
// The Is* checks return the list of problems as upstream words them; an empty list means
// valid. ValidateObjectMeta appends StatusCauses whose `message` is upstream's
// field.Error.ErrorBody() (e.g. `Invalid value: "Foo": a lowercase RFC 1123 subdomain ...`) and
// whose `field` is the JSON path (e.g. `metadata.labels`, `metadata.finalizers[0]`).
//
// Free functions; no state; thread-safe.
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "setpoint/common/status.h"

namespace setpoint::api {

// Maximum total size in bytes of all annotation keys and values on one object.
inline constexpr std::size_t kTotalAnnotationSizeLimit = 256 * 1024;

// RFC 1123 subdomain: at most 253 characters of [a-z0-9.-], alphanumeric at both ends.
std::vector<std::string> IsDNS1123Subdomain(std::string_view value);
// RFC 1123 label: at most 63 characters of [a-z0-9-], alphanumeric at both ends.
std::vector<std::string> IsDNS1123Label(std::string_view value);
// Qualified name: an optional DNS-subdomain prefix and '/', then a name part of at most 63
// characters of [A-Za-z0-9_.-], alphanumeric at both ends. Used for label and annotation keys
// and finalizers.
std::vector<std::string> IsQualifiedName(std::string_view value);
// Label value: empty, or at most 63 characters of [A-Za-z0-9_.-], alphanumeric at both ends.
std::vector<std::string> IsValidLabelValue(std::string_view value);

// How a kind's metadata.name is validated.
enum class NameRule {
  kDNS1123Subdomain,  // most kinds, and every custom resource
  kDNS1123Label,      // Namespace, Service, ...
  kPathSegment,       // anything safe in a URL path segment (not ".", "..", no '/' or '%')
};

// Problems with `name` under `rule`. With `prefix` (a generateName), a trailing '-' is allowed
// and the path-segment rule only checks forbidden characters, as upstream.
std::vector<std::string> ValidateName(std::string_view name, NameRule rule, bool prefix = false);

// Validates an object's metadata for create/update:
//  - name: required unless generateName is set; must satisfy `rule`; generateName likewise
//  - namespace: required (a DNS-1123 label) when `namespaced`, forbidden otherwise
//  - generation: not negative
//  - labels: keys are qualified names, values valid label values
//  - annotations: keys are qualified names; keys plus values at most 256 KiB
//  - finalizers: qualified names; not both "orphan" and "foregroundDeletion"
//  - ownerReferences: apiVersion, kind, name, uid non-empty; at most one controller
// Appends one cause per problem to `causes`.
void ValidateObjectMeta(const boost::json::object& metadata, bool namespaced, NameRule rule,
                        std::vector<StatusCause>& causes);

// Renders causes the way upstream's aggregate error does: "field: message" for one cause,
// "[field: message, field: message]" for several.
std::string FormatCauses(const std::vector<StatusCause>& causes);

// A 422 Invalid Status as upstream's errors.NewInvalid builds it:
// message `<qualified_kind> "<name>" is invalid: <FormatCauses>` and the causes attached.
// `qualified_kind` is e.g. "Pod" or "CronTab.stable.example.com".
Status MakeInvalid(std::string_view qualified_kind, std::string_view name, std::vector<StatusCause> causes);

}  // namespace setpoint::api
