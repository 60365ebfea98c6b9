// The pieces the natively served kinds (setpoint_kinds.cc, accounting_kinds.cc) are written
// with: each kind is a CustomResourceDefinition document compiled by the code that compiles CRDs.
#pragma once

#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace setpoint::apiserver {

// YAML to JSON; a document that does not parse aborts (a programming error the tests catch).
boost::json::value NativeYaml(std::string_view text);

// A CustomResourceDefinition of `group` with one version, v1alpha1, served and stored, whose
// remaining fields (subresources, columns, schema) are `version`, indented as members of
// spec.versions[0].
boost::json::object NativeCrd(std::string_view group, std::string_view plural, std::string_view scope,
                              std::string_view names, std::string_view version);

// The version's openAPIV3Schema, and its `properties` (spec, status).
boost::json::object& NativeSchema(boost::json::object& crd);
boost::json::object& NativeSchemaProps(boost::json::object& crd);

}  // namespace setpoint::apiserver
