// Kubernetes protobuf request bodies (application/vnd.kubernetes.protobuf) for the kinds that
// setpoint reads in that form: core/v1 ConfigMap and Secret. kubectl 1.32 and newer send them
// for `kubectl create configmap|secret`, as does any client-go typed client configured for
// protobuf.
//
// The wire form is the 4-byte magic "k8s\0" followed by a runtime.Unknown message (typeMeta,
// raw, contentEncoding, contentType) whose `raw` is the object's own message
// (k8s.io/api/core/v1/generated.proto). The result is the object as the Go JSON encoder would
// write it: empty strings, zero numbers and empty maps omitted, []byte values base64, times as
// RFC 3339, pointer fields (immutable, deletionTimestamp, ...) kept when present.
// metadata.managedFields and fields this decoder does not know are skipped, as protobuf does.
//
// Free functions; no state; thread-safe.
#pragma once

#include <boost/json.hpp>
#include <string_view>

#include "setpoint/common/status.h"

namespace setpoint::api {

inline constexpr std::string_view kProtobufMediaType = "application/vnd.kubernetes.protobuf";

// Decodes one protobuf-encoded object. Errors: BadRequest for a body that is not a well-formed
// message; UnsupportedMediaType when the envelope names a kind other than v1 ConfigMap/Secret.
Result<boost::json::object> DecodeProtobufObject(std::string_view body);

}  // namespace setpoint::api
