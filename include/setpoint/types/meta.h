// The typed form of what every API object shares (meta.k8s.io/v1): ObjectMeta, owner references,
// metav1.Condition, int-or-string, quantities — and `Object`, the base of every typed resource.
//
// A resource is a described struct deriving from Object, with its kind in `kKind`:
//
//   struct Memcached : setpoint::types::Object {
//     static constexpr setpoint::types::Kind kKind{"cache.example.com", "v1alpha1", "Memcached", "memcacheds"};
//     MemcachedSpec spec;
//     MemcachedStatus status;
//   };
//   BOOST_DESCRIBE_STRUCT(Memcached, (setpoint::types::Object), (spec, status))
//
// Decode() keeps the JSON an object came from (shared, immutable) and Encode() writes the typed
// fields over it, so fields the type does not model — a newer server's, managedFields — are not
// lost by a read-modify-write. Value types; thread-compatible.
#pragma once

#include <concepts>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "setpoint/client/dynamic_client.h"
#include "setpoint/common/clock.h"
#include "setpoint/types/codec.h"

namespace setpoint::types {

struct OwnerReference {
  std::string apiVersion, kind, name, uid;
  std::optional<bool> controller, blockOwnerDeletion;
  friend bool operator==(const OwnerReference&, const OwnerReference&) = default;
};
BOOST_DESCRIBE_STRUCT(OwnerReference, (), (apiVersion, kind, name, uid, controller, blockOwnerDeletion))

struct ObjectMeta {
  std::string name, generateName, namespace_, uid, resourceVersion;
  std::int64_t generation = 0;
  std::map<std::string, std::string> labels, annotations;
  std::vector<std::string> finalizers;
  std::vector<OwnerReference> ownerReferences;
  std::string creationTimestamp, deletionTimestamp;  // RFC 3339, as the server wrote them
  std::optional<std::int64_t> deletionGracePeriodSeconds;

  bool being_deleted() const { return !deletionTimestamp.empty(); }
  bool has_finalizer(std::string_view f) const;
  // Both return whether the list changed (add is idempotent; remove removes every copy).
  bool add_finalizer(std::string_view f);
  bool remove_finalizer(std::string_view f);
  // The owner reference with controller=true, or nullptr.
  const OwnerReference* controller_ref() const;
  bool owned_by(std::string_view uid) const;
  friend bool operator==(const ObjectMeta&, const ObjectMeta&) = default;
};
BOOST_DESCRIBE_STRUCT(ObjectMeta, (),
                      (name, generateName, namespace_, uid, resourceVersion, generation, labels, annotations,
                       finalizers, ownerReferences, creationTimestamp, deletionTimestamp, deletionGracePeriodSeconds))

// metav1.LabelSelector: every matchLabels pair and every expression must hold.
struct LabelSelectorRequirement {
  std::string key, operator_;  // In | NotIn | Exists | DoesNotExist
  std::vector<std::string> values;
  friend bool operator==(const LabelSelectorRequirement&, const LabelSelectorRequirement&) = default;
};
BOOST_DESCRIBE_STRUCT(LabelSelectorRequirement, (), (key, operator_, values))

struct LabelSelector {
  std::map<std::string, std::string> matchLabels;
  std::vector<LabelSelectorRequirement> matchExpressions;
  friend bool operator==(const LabelSelector&, const LabelSelector&) = default;
};
BOOST_DESCRIBE_STRUCT(LabelSelector, (), (matchLabels, matchExpressions))

// The metadata of any JSON object (absent or mistyped fields as empty): the one metadata view over
// typed and untyped objects alike.
ObjectMeta MetaOf(const boost::json::object& obj);

// metav1.Condition. status is True | False | Unknown; lastTransitionTime is RFC 3339.
struct Condition {
  std::string type, status;
  OmitZero<std::int64_t> observedGeneration;  // left out at 0, as upstream writes it
  std::string lastTransitionTime, reason, message;
  friend bool operator==(const Condition&, const Condition&) = default;
};
BOOST_DESCRIBE_STRUCT(Condition, (), (type, status, observedGeneration, lastTransitionTime, reason, message))

// apimachinery's meta.SetStatusCondition: inserts or updates the condition of c.type; the
// transition time changes only when the status does (`now` then, unless c sets one). Returns
// whether anything changed.
bool SetCondition(std::vector<Condition>& conditions, Condition c, WallTime now = std::chrono::system_clock::now());
inline bool SetCondition(std::vector<Condition>& conditions, std::string type, std::string status, std::string reason,
                         std::string message, std::int64_t observed_generation) {
  return SetCondition(conditions, Condition{std::move(type), std::move(status), observed_generation, "",
                                            std::move(reason), std::move(message)});
}
// Sets a condition in obj.status.conditions with obj's generation as its observedGeneration.
template <class T>
requires requires(T& t) {
  t.status.conditions.push_back(Condition{});
  t.metadata.generation;
}
bool SetCondition(T& obj, std::string type, std::string status, std::string reason, std::string message) {
  return SetCondition(obj.status.conditions, std::move(type), std::move(status), std::move(reason), std::move(message),
                      obj.metadata.generation);
}
const Condition* FindCondition(const std::vector<Condition>& conditions, std::string_view type);
bool IsConditionTrue(const std::vector<Condition>& conditions, std::string_view type);
bool RemoveCondition(std::vector<Condition>& conditions, std::string_view type);

// intstr.IntOrString: a port number or name, a count or a percentage ("25%").
class IntOrString {
 public:
  IntOrString() = default;
  IntOrString(std::int64_t i) : v_(i) {}              // NOLINT: implicit, as the YAML reads
  IntOrString(std::string s) : v_(std::move(s)) {}    // NOLINT
  IntOrString(const char* s) : v_(std::string(s)) {}  // NOLINT
  bool is_int() const { return std::holds_alternative<std::int64_t>(v_); }
  std::int64_t int_value() const { return is_int() ? std::get<std::int64_t>(v_) : 0; }
  const std::string& string_value() const;
  // A count, or a percentage of `total` rounded up or down.
  std::int64_t scaled(std::int64_t total, bool round_up) const;
  boost::json::value to_json() const;
  static Result<IntOrString> from_json(const boost::json::value& v);
  friend bool operator==(const IntOrString&, const IntOrString&) = default;

 private:
  std::variant<std::int64_t, std::string> v_ = std::int64_t{0};
};

// resource.Quantity in its canonical text ("100m", "64Mi", "1.5"); numbers are accepted as JSON
// numbers and kept as written.
class Quantity {
 public:
  Quantity() = default;
  explicit Quantity(std::string text) : text_(std::move(text)) {}
  const std::string& text() const { return text_; }
  // The value in thousandths (milli-units), nullopt when it does not parse or overflows.
  std::optional<std::int64_t> milli_value() const;
  boost::json::value to_json() const { return boost::json::string(text_); }
  static Result<Quantity> from_json(const boost::json::value& v);
  friend bool operator==(const Quantity&, const Quantity&) = default;

 private:
  std::string text_;
};

// metav1.Duration as Go writes it ("1h30m", "90s", "250ms").
class Duration {
 public:
  Duration() = default;
  explicit Duration(std::chrono::milliseconds d) : d_(d) {}
  std::chrono::milliseconds value() const { return d_; }
  boost::json::value to_json() const;
  static Result<Duration> from_json(const boost::json::value& v);
  friend bool operator==(const Duration&, const Duration&) = default;

 private:
  std::chrono::milliseconds d_{0};
};

// What names a resource: its group, version, kind and plural, and its scope.
struct Kind {
  std::string_view group, version, kind, plural;
  bool namespaced = true;
};

// The base of every typed resource: its metadata, and the JSON it was decoded from.
struct Object {
  ObjectMeta metadata;
  // What Decode() read, shared by copies; Encode() writes the typed fields over it. Null for an
  // object made in code.
  std::shared_ptr<const boost::json::object> original;
};
BOOST_DESCRIBE_STRUCT(Object, (), (metadata))

template <class T>
concept Resource = std::derived_from<T, Object> && Described<T> && requires {
  { T::kKind } -> std::convertible_to<const Kind&>;
};

template <Resource T>
const client::GroupVersionResource& GvrOf() {
  static const client::GroupVersionResource gvr{std::string(T::kKind.group), std::string(T::kKind.version),
                                                std::string(T::kKind.plural), T::kKind.namespaced,
                                                std::string(T::kKind.kind)};
  return gvr;
}

template <Resource T>
const std::string& ApiVersionOf() {
  static const std::string v = GvrOf<T>().api_version();
  return v;
}

// The object's JSON: its typed fields written over the JSON it came from, apiVersion and kind set.
template <Resource T>
boost::json::object Encode(const T& obj) {
  boost::json::value out = obj.original ? boost::json::value(*obj.original) : boost::json::value(boost::json::object());
  EncodeOnto(obj, out, false);
  boost::json::object& o = out.as_object();
  o["apiVersion"] = ApiVersionOf<T>();
  o["kind"] = T::kKind.kind;
  return std::move(o);
}

// `json` as a T that remembers it. Invalid names the field at fault.
template <Resource T>
Result<T> Decode(std::shared_ptr<const boost::json::object> json) {
  if (!json) return Err(Status::Invalid("no object"));
  T out{};
  codec_detail::DecodeError error;
  if (!DecodeMembers(*json, out, error))
    return Err(Status::Invalid(std::string(T::kKind.kind) + ": " + codec_detail::JoinPath(error)));
  out.original = std::move(json);
  return out;
}
template <Resource T>
Result<T> Decode(boost::json::object json) {
  return Decode<T>(std::make_shared<const boost::json::object>(std::move(json)));
}

// A server's answer as a T: what does not decode is the client's failure (Internal), not the
// caller's input (Invalid).
template <Resource T, class J>
Result<T> DecodeAnswer(J&& json) {
  auto out = Decode<T>(std::forward<J>(json));
  if (!out) return Err(Status::Internal("cannot decode the answer: " + out.error().message()));
  return out;
}

// Makes `owner` the managing controller of `object` (controller and blockOwnerDeletion set),
// replacing a reference to the same owner; as controllerutil.SetControllerReference. Invalid when
// the owner has no uid or name, or is namespaced and the object is in another namespace or
// cluster-scoped; Conflict (reason AlreadyOwned) when another controller owns it.
Status SetControllerReference(const Kind& owner_kind, const ObjectMeta& owner, bool object_namespaced,
                              ObjectMeta& object);
template <Resource Owner, Resource T>
Status SetControllerReference(const Owner& owner, T& object) {
  return SetControllerReference(Owner::kKind, owner.metadata, T::kKind.namespaced, object.metadata);
}

}  // namespace setpoint::types
