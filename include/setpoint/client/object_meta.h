// ObjectMeta: the typed form of an object's `metadata`, for TypedClient users' structs.
//
// A plain value type with Boost.JSON conversions (value_from / value_to via tag_invoke). Empty
// fields are left out when serialising (Go's omitempty); decoding is lenient: absent or
// mistyped fields keep their defaults, fields it does not know are dropped. Thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

namespace setpoint::client {

struct OwnerReference {
  std::string api_version, kind, name, uid;
  bool controller = false;
  bool block_owner_deletion = false;
  friend bool operator==(const OwnerReference&, const OwnerReference&) = default;
};

struct ObjectMeta {
  std::string name, generate_name, namespace_, uid, resource_version;
  std::int64_t generation = 0;
  std::map<std::string, std::string> labels, annotations;
  std::vector<std::string> finalizers;
  std::vector<OwnerReference> owner_references;
  std::string creation_timestamp, deletion_timestamp;  // RFC 3339 as the server wrote them
  friend bool operator==(const ObjectMeta&, const ObjectMeta&) = default;
};

void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const OwnerReference& o);
OwnerReference tag_invoke(boost::json::value_to_tag<OwnerReference>, const boost::json::value& v);
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const ObjectMeta& m);
ObjectMeta tag_invoke(boost::json::value_to_tag<ObjectMeta>, const boost::json::value& v);

}  // namespace setpoint::client
