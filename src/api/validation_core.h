// core/v1 ConfigMap and Secret as kube-apiserver reads and validates them:
//
//   Normalize*  what decoding the JSON into the typed Go struct, defaulting and conversion to the
//               internal type do: type checks of the kind's own fields, base64 of []byte values,
//               unknown top-level fields dropped (and reported for fieldValidation), empty maps
//               and nulls dropped (omitempty), and for Secret: `type` defaulted to Opaque and
//               the write-only `stringData` merged into `data` (stringData wins) and removed.
//   Validate*   pkg/apis/core/validation ValidateConfigMap(Update) / ValidateSecret(Update),
//               without the ObjectMeta part (ValidateObjectMeta in validation.h does that), with
//               upstream's field paths and messages.
//
// Messages follow upstream, e.g.
//   400  ConfigMap in version "v1" cannot be handled as a ConfigMap: illegal base64 data at input byte 4
//   422  data[a b]: Invalid value: "a b": a valid config key must consist of alphanumeric ...
//        data: Forbidden: field is immutable when `immutable` is set
//        type: Invalid value: "Opaque": field is immutable
//        data[tls.key]: Required value
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

// core.MaxSecretSize: the most bytes the values of one ConfigMap or Secret may hold.
inline constexpr std::size_t kMaxConfigDataSize = 1024 * 1024;

// validation.IsConfigMapKey: [-._a-zA-Z0-9]+, at most 253 characters, not "." or "..", not
// starting with "..". Returns upstream's messages; empty means valid.
std::vector<std::string> IsConfigMapKey(std::string_view key);

// Go's base64.StdEncoding.Decode, which encoding/json uses for []byte fields: the standard
// alphabet, padding required, '\r' and '\n' ignored anywhere. Errors: BadRequest with Go's
// "illegal base64 data at input byte N".
Result<std::string> DecodeGoBase64(std::string_view text);

// Normalizes a ConfigMap (fields: data, binaryData, immutable) in place. BadRequest when a
// field has the wrong JSON type or a binaryData value is not base64; binaryData values are
// re-encoded canonically. Top-level fields other than apiVersion, kind, metadata and those
// are removed and their names appended to `unknown_fields` (when not null).
Status NormalizeConfigMap(boost::json::object& obj, std::vector<std::string>* unknown_fields);

// Normalizes a Secret (fields: data, stringData, type, immutable) in place, as above; then
// merges stringData into data (stringData wins on a clash), removes stringData, and defaults
// an absent or empty type to "Opaque".
Status NormalizeSecret(boost::json::object& obj, std::vector<std::string>* unknown_fields);

// Appends the causes ValidateConfigMap (old == nullptr) or ValidateConfigMapUpdate would
// report: keys, a key in both data and binaryData, the 1 MiB total, and with a stored
// `immutable: true` any change to data, binaryData or immutable. Both objects normalized.
void ValidateConfigMap(const boost::json::object& cm, const boost::json::object* old, std::vector<StatusCause>& causes);

// Appends the causes ValidateSecret / ValidateSecretUpdate would report: keys, the 1 MiB total,
// the keys each well-known type requires (tls.crt and tls.key for kubernetes.io/tls,
// .dockerconfigjson for kubernetes.io/dockerconfigjson, .dockercfg, basic-auth, ssh-auth, the
// service-account name annotation for service-account-token), `type` immutable on update, and
// the `immutable: true` rules. Both objects normalized.
void ValidateSecret(const boost::json::object& secret, const boost::json::object* old,
                    std::vector<StatusCause>& causes);

}  // namespace setpoint::api
