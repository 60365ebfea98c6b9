// Typed kinds of apiextensions.k8s.io/v1: CustomResourceDefinition. Schemas stay JSON (a
// JSONSchemaProps tree is read by the schema library, include/setpoint/api/schema.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "setpoint/types/meta.h"

namespace setpoint::apiextensionsv1 {

struct CustomResourceDefinitionNames {
  std::string plural, singular, kind, listKind;
  std::vector<std::string> shortNames, categories;
  friend bool operator==(const CustomResourceDefinitionNames&, const CustomResourceDefinitionNames&) = default;
};
BOOST_DESCRIBE_STRUCT(CustomResourceDefinitionNames, (), (plural, singular, kind, listKind, shortNames, categories))

struct CustomResourceValidation {
  boost::json::value openAPIV3Schema;
  friend bool operator==(const CustomResourceValidation&, const CustomResourceValidation&) = default;
};
BOOST_DESCRIBE_STRUCT(CustomResourceValidation, (), (openAPIV3Schema))

struct CustomResourceColumnDefinition {
  std::string name, type_, format, description;
  std::int32_t priority = 0;
  std::string jsonPath;
  friend bool operator==(const CustomResourceColumnDefinition&, const CustomResourceColumnDefinition&) = default;
};
BOOST_DESCRIBE_STRUCT(CustomResourceColumnDefinition, (), (name, type_, format, description, priority, jsonPath))

struct CustomResourceSubresourceScale {
  std::string specReplicasPath, statusReplicasPath, labelSelectorPath;
  friend bool operator==(const CustomResourceSubresourceScale&, const CustomResourceSubresourceScale&) = default;
};
BOOST_DESCRIBE_STRUCT(CustomResourceSubresourceScale, (), (specReplicasPath, statusReplicasPath, labelSelectorPath))

struct CustomResourceSubresources {
  std::optional<boost::json::object> status;  // present (`{}`) to enable /status
  std::optional<CustomResourceSubresourceScale> scale;
  friend bool operator==(const CustomResourceSubresources&, const CustomResourceSubresources&) = default;
};
BOOST_DESCRIBE_STRUCT(CustomResourceSubresources, (), (status, scale))

struct CustomResourceDefinitionVersion {
  std::string name;
  bool served = true, storage = false;
  std::optional<bool> deprecated;
  std::string deprecationWarning;
  std::optional<CustomResourceValidation> schema;
  std::optional<CustomResourceSubresources> subresources;
  std::vector<CustomResourceColumnDefinition> additionalPrinterColumns;
  friend bool operator==(const CustomResourceDefinitionVersion&, const CustomResourceDefinitionVersion&) = default;
};
BOOST_DESCRIBE_STRUCT(CustomResourceDefinitionVersion, (),
                      (name, served, storage, deprecated, deprecationWarning, schema, subresources,
                       additionalPrinterColumns))

struct CustomResourceDefinitionSpec {
  std::string group;
  CustomResourceDefinitionNames names;
  std::string scope = "Namespaced";  // Namespaced | Cluster
  std::vector<CustomResourceDefinitionVersion> versions;
  boost::json::object conversion;
  std::optional<bool> preserveUnknownFields;
  friend bool operator==(const CustomResourceDefinitionSpec&, const CustomResourceDefinitionSpec&) = default;
};
BOOST_DESCRIBE_STRUCT(CustomResourceDefinitionSpec, (),
                      (group, names, scope, versions, conversion, preserveUnknownFields))

struct CustomResourceDefinitionStatus {
  std::vector<types::Condition> conditions;  // Established, NamesAccepted, Terminating
  CustomResourceDefinitionNames acceptedNames;
  std::vector<std::string> storedVersions;
  friend bool operator==(const CustomResourceDefinitionStatus&, const CustomResourceDefinitionStatus&) = default;
};
BOOST_DESCRIBE_STRUCT(CustomResourceDefinitionStatus, (), (conditions, acceptedNames, storedVersions))

struct CustomResourceDefinition : types::Object {
  static constexpr types::Kind kKind{"apiextensions.k8s.io", "v1", "CustomResourceDefinition",
                                     "customresourcedefinitions", false};
  CustomResourceDefinitionSpec spec;
  CustomResourceDefinitionStatus status;
};
BOOST_DESCRIBE_STRUCT(CustomResourceDefinition, (types::Object), (spec, status))

}  // namespace setpoint::apiextensionsv1
