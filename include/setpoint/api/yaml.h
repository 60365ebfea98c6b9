// YAML to JSON conversion for request bodies sent as application/yaml, with the scalar typing
// of sigs.k8s.io/yaml (go-yaml v2, YAML 1.1) that the kube-apiserver applies:
//   - plain true/false/yes/no/on/off/y/n (any of their case forms) are booleans
//   - plain ~, null, Null, NULL and empty values are null
//   - plain integers (decimal, 0x hex, 0o/0 octal, 0b binary, '_' separators) are integers;
//     plain floats are numbers (an integral float such as 1.0 becomes the integer 1, as the
//     upstream YAML -> JSON -> object round trip yields); .inf and .nan are errors
//   - quoted and block scalars, and everything else, are strings; timestamps stay strings
//   - map keys become strings (a boolean key "yes" becomes "true", as upstream); null and
//     collection keys are errors
//   - anchors/aliases are expanded (bounded: excessive aliasing is an error); "<<" merge keys
//     are honoured
// Errors (syntax, a second non-empty document, nesting deeper than max_depth, bad keys) are
// BadRequest, worded "error converting YAML to JSON: yaml: line N: ...". Never throws.
//
// Free function; no state; thread-safe.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "setpoint/common/status.h"

namespace setpoint::api {

// Converts one YAML document. An empty stream is null. When `duplicate_fields` is not nullptr
// it receives the path of every repeated mapping key ("spec.replicas"), the last value
// winning, so a caller can reject them for fieldValidation=Strict as upstream does.
Result<boost::json::value> YamlToJson(std::string_view yaml, int max_depth = 100,
                                      std::vector<std::string>* duplicate_fields = nullptr);

// The YAML kubectl prints for a JSON value: block style, strings quoted where a plain scalar would
// read back as a bool, null or number.
std::string JsonToYaml(const boost::json::value& v);

}  // namespace setpoint::api
