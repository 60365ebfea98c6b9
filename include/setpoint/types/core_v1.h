// Typed kinds of the core group (v1) that setpoint serves: Namespace, ConfigMap, Secret, Event.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "setpoint/types/meta.h"

namespace setpoint::corev1 {

struct NamespaceSpec {
  std::vector<std::string> finalizers;
  friend bool operator==(const NamespaceSpec&, const NamespaceSpec&) = default;
};
BOOST_DESCRIBE_STRUCT(NamespaceSpec, (), (finalizers))

struct NamespaceStatus {
  std::string phase;  // Active | Terminating
  std::vector<types::Condition> conditions;
  friend bool operator==(const NamespaceStatus&, const NamespaceStatus&) = default;
};
BOOST_DESCRIBE_STRUCT(NamespaceStatus, (), (phase, conditions))

struct Namespace : types::Object {
  static constexpr types::Kind kKind{"", "v1", "Namespace", "namespaces", false};
  NamespaceSpec spec;
  NamespaceStatus status;
};
BOOST_DESCRIBE_STRUCT(Namespace, (types::Object), (spec, status))

struct ConfigMap : types::Object {
  static constexpr types::Kind kKind{"", "v1", "ConfigMap", "configmaps"};
  std::map<std::string, std::string> data;
  std::map<std::string, std::string> binaryData;  // base64, as on the wire
  std::optional<bool> immutable;
};
BOOST_DESCRIBE_STRUCT(ConfigMap, (types::Object), (data, binaryData, immutable))

struct Secret : types::Object {
  static constexpr types::Kind kKind{"", "v1", "Secret", "secrets"};
  std::map<std::string, std::string> data;        // base64, as on the wire
  std::map<std::string, std::string> stringData;  // write-only: merged into data by the server
  std::string type_;                              // Opaque when empty
  std::optional<bool> immutable;
};
BOOST_DESCRIBE_STRUCT(Secret, (types::Object), (data, stringData, type_, immutable))

struct ObjectReference {
  std::string apiVersion, kind, namespace_, name, uid, resourceVersion, fieldPath;
  friend bool operator==(const ObjectReference&, const ObjectReference&) = default;
};
BOOST_DESCRIBE_STRUCT(ObjectReference, (), (apiVersion, kind, namespace_, name, uid, resourceVersion, fieldPath))

struct EventSource {
  std::string component, host;
  friend bool operator==(const EventSource&, const EventSource&) = default;
};
BOOST_DESCRIBE_STRUCT(EventSource, (), (component, host))

struct Event : types::Object {
  static constexpr types::Kind kKind{"", "v1", "Event", "events"};
  ObjectReference involvedObject;
  std::string reason, message;
  EventSource source;
  std::string firstTimestamp, lastTimestamp;
  std::int32_t count = 0;
  std::string type_;  // Normal | Warning
  std::string eventTime, action, reportingComponent, reportingInstance;
};
BOOST_DESCRIBE_STRUCT(Event, (types::Object),
                      (involvedObject, reason, message, source, firstTimestamp, lastTimestamp, count, type_, eventTime,
                       action, reportingComponent, reportingInstance))

}  // namespace setpoint::corev1
