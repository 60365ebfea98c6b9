// Schema: a CustomResourceDefinition's structural schema (openAPIV3Schema), compiled once when
// the CRD is stored and applied to every custom resource written or read.
//
// The three operations run in the order the kube-apiserver runs them on a write:
//   prune()          drop fields the schema does not know (reported for fieldValidation=Strict)
//   apply_defaults() fill `default`s, drop non-nullable nulls
//   validate()       report every violation as a StatusCause in upstream's wording
// On read from storage upstream prunes and defaults again; callers can do the same.
//
// Only the root of the object (and any x-kubernetes-embedded-resource) implicitly allows
// apiVersion, kind and metadata; metadata is never pruned or defaulted here (ObjectMeta rules
// live in validation.h).
//
// Ownership and threads: Compile returns an immutable Schema behind shared_ptr<const>; share it
// freely between threads and requests. Methods are const and thread-safe; prune and
// apply_defaults mutate only the caller's value.
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "setpoint/common/status.h"

namespace setpoint::api {

namespace internal {
struct SchemaNode;
}

class Schema {
 public:
  // Checks that `open_api_v3_schema` is a structural schema and compiles it (patterns
  // included). Errors are Invalid with one cause per problem, fields rooted at `field_path`
  // (e.g. "spec.versions[0].schema.openAPIV3Schema"), e.g.
  //   <field_path>.properties[spec].type: Required value: must not be empty for specified object fields
  // Rules: every node has a type in {object,array,string,integer,number,boolean} unless it sets
  // x-kubernetes-int-or-string or x-kubernetes-preserve-unknown-fields; the root is an object;
  // arrays have `items` (one schema); `properties` and `additionalProperties` exclude each
  // other; allOf/anyOf/oneOf/not add no type, default or nullable; patterns compile; defaults
  // validate and contain no unknown fields; root metadata may only constrain name and
  // generateName; $ref, patternProperties, dependencies and additionalItems are refused.
  static Result<std::shared_ptr<const Schema>> Compile(const boost::json::value& open_api_v3_schema,
                                                       std::string_view field_path = "openAPIV3Schema");

  ~Schema();
  Schema(const Schema&) = delete;
  Schema& operator=(const Schema&) = delete;

  // Appends one cause per violation. Field paths are data paths ("spec.replicas",
  // "spec.items[2].name"); messages follow kube-openapi via apiextensions, e.g.
  //   FieldValueInvalid      Invalid value: 10: spec.size in body should be less than or equal to 5
  //   FieldValueRequired     Required value
  //   FieldValueNotSupported Unsupported value: "x": supported values: "a", "b"
  //   FieldValueTypeInvalid  Invalid value: "string": spec.size in body must be of type integer: "string"
  //   FieldValueTooLong      Too long: may not be more than 5 bytes
  //   FieldValueTooMany      Too many: 4: must have at most 3 items
  //   FieldValueDuplicate    Duplicate value: "a"
  // x-kubernetes-validations (CEL) rules are not evaluated.
  void validate(const boost::json::value& object, std::vector<StatusCause>& causes) const;

  // Removes fields the schema does not declare, except under x-kubernetes-preserve-unknown-fields
  // and root apiVersion/kind/metadata. Each removed field's data path ("spec.foo",
  // "spec.items[0].bar") is appended to `unknown_fields` when it is not nullptr.
  void prune(boost::json::value& object, std::vector<std::string>* unknown_fields) const;

  // Sets `default` values of absent properties (recursively, in array items and
  // additionalProperties too, and inside defaults just applied), replaces a null by the
  // default for non-nullable fields, and removes nulls of non-nullable fields without one.
  void apply_defaults(boost::json::value& object) const;

  // The schema as given, for publishing under /openapi/v3.
  const boost::json::value& json() const { return json_; }

 private:
  Schema(boost::json::value json, std::unique_ptr<internal::SchemaNode> root);

  boost::json::value json_;
  std::unique_ptr<internal::SchemaNode> root_;
};

using SchemaPtr = std::shared_ptr<const Schema>;

}  // namespace setpoint::api
