// Test CRDs: a namespaced kind with an open schema and the status subresource, the shape most
// controller tests need. Header-only.
#pragma once

#include <string>

#include <boost/json.hpp>

namespace setpoint::test {

inline boost::json::object OpenCrd(const std::string& group, const std::string& plural, const std::string& singular,
                                   const std::string& kind) {
  namespace json = boost::json;
  json::object open{{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}};
  return json::object{
      {"apiVersion", "apiextensions.k8s.io/v1"},
      {"kind", "CustomResourceDefinition"},
      {"metadata", {{"name", plural + "." + group}}},
      {"spec",
       {{"group", group},
        {"scope", "Namespaced"},
        {"names", {{"plural", plural}, {"singular", singular}, {"kind", kind}}},
        {"versions",
         json::array{json::object{
             {"name", "v1"},
             {"served", true},
             {"storage", true},
             {"subresources", {{"status", json::object{}}}},
             {"schema",
              {{"openAPIV3Schema", {{"type", "object"}, {"properties", {{"spec", open}, {"status", open}}}}}}}}}}}}};
}

}  // namespace setpoint::test
