// TypedClient<T>: get/list/create/update/update_status/patch/remove/watch on a resource declared
// as a C++ struct, checked at compile time.
//
// T describes its resource with static members (or a ResourceTraits<T> specialisation):
//   static constexpr std::string_view kGroup = "example.com", kVersion = "v1",
//                                     kResource = "widgets", kKind = "Widget";
//   static constexpr bool kNamespaced = true;   // optional, default true
// has a `ObjectMeta metadata` member, and converts with Boost.JSON (tag_invoke for value_from
// and value_to). apiVersion and kind are written by the client. An answer that T's value_to
// rejects (it throws) is Internal. Fields T does not model are dropped on update, as with Go
// structs. Thread-safe like DynamicClient; a TypedWatch is confined like a WatchStream.
#pragma once

#include <concepts>
#include <exception>
#include <string_view>
#include <type_traits>

#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include "setpoint/client/dynamic_client.h"
#include "setpoint/client/object_meta.h"

namespace setpoint::client {

// Empty for types that are not resources; users may specialise it for types they cannot change.
template <typename T>
struct ResourceTraits {};

template <typename T>
requires requires {
  T::kGroup;
  T::kVersion;
  T::kResource;
  T::kKind;
}
struct ResourceTraits<T> {
  static constexpr std::string_view group = T::kGroup;
  static constexpr std::string_view version = T::kVersion;
  static constexpr std::string_view resource = T::kResource;
  static constexpr std::string_view kind = T::kKind;
  static constexpr bool namespaced = [] {
    if constexpr (requires { T::kNamespaced; })
      return static_cast<bool>(T::kNamespaced);
    else
      return true;
  }();
};

template <typename T>
concept Resource = requires(const T& t, const boost::json::value& v) {
  { ResourceTraits<T>::group } -> std::convertible_to<std::string_view>;
  { ResourceTraits<T>::version } -> std::convertible_to<std::string_view>;
  { ResourceTraits<T>::resource } -> std::convertible_to<std::string_view>;
  { ResourceTraits<T>::kind } -> std::convertible_to<std::string_view>;
  requires std::same_as<std::remove_cvref_t<decltype(t.metadata)>, ObjectMeta>;
  boost::json::value_from(t);
  boost::json::value_to<T>(v);
};

template <Resource T>
GroupVersionResource GvrOf() {
  using R = ResourceTraits<T>;
  return {std::string(R::group), std::string(R::version), std::string(R::resource), R::namespaced,
          std::string(R::kind)};
}

template <Resource T>
boost::json::object ToObject(const T& obj) {
  boost::json::value v = boost::json::value_from(obj);
  boost::json::object o = v.is_object() ? std::move(v.as_object()) : boost::json::object();
  std::string api = GvrOf<T>().api_version();
  o["apiVersion"] = api;
  o["kind"] = ResourceTraits<T>::kind;
  return o;
}

template <Resource T>
Result<T> FromObject(const boost::json::value& v) {
  try {
    return boost::json::value_to<T>(v);
  } catch (const std::exception& e) {
    return Err(
        Status::Internal(std::string("cannot decode ") + std::string(ResourceTraits<T>::kind) + ": " + e.what()));
  }
}

template <typename T>
struct TypedList {
  std::vector<T> items;
  std::string resource_version, continue_;
};

template <typename T>
struct TypedWatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK (a bookmark carries only metadata)
  T object;
};

// A WatchStream whose events are decoded into T; same contract as WatchStream::next().
template <Resource T>
class TypedWatch {
 public:
  explicit TypedWatch(WatchStreamPtr stream) : stream_(std::move(stream)) {}
  Result<std::optional<TypedWatchEvent<T>>> next(std::chrono::milliseconds timeout) {
    auto e = stream_->next(timeout);
    if (!e) return Err(e.error());
    if (!*e) return std::optional<TypedWatchEvent<T>>();
    auto obj = FromObject<T>((*e)->object);
    if (!obj) return Err(obj.error());
    return std::optional<TypedWatchEvent<T>>(TypedWatchEvent<T>{std::move((*e)->type), std::move(*obj)});
  }
  bool ended() const { return stream_->ended(); }
  void cancel() { stream_->cancel(); }  // thread-safe

 private:
  WatchStreamPtr stream_;
};

template <Resource T>
class TypedClient {
 public:
  // Writes use obj.metadata.namespace_, or the config's namespace when that is empty.
  explicit TypedClient(RestClient& rest) : dynamic_(rest), gvr_(GvrOf<T>()) {}

  Result<T> get(std::string_view ns, std::string_view name) { return decode(dynamic_.get(gvr_, ns, name)); }

  Result<TypedList<T>> list(std::string_view ns, const ListOptions& options = {}) {
    auto l = dynamic_.list(gvr_, ns, options);
    if (!l) return Err(l.error());
    TypedList<T> out{{}, std::move(l->resource_version), std::move(l->continue_)};
    out.items.reserve(l->items.size());
    for (auto& item : l->items) {
      auto t = FromObject<T>(boost::json::value(std::move(item)));
      if (!t) return Err(t.error());
      out.items.push_back(std::move(*t));
    }
    return out;
  }

  Result<T> create(const T& obj) { return decode(dynamic_.create(gvr_, ns_of(obj), ToObject(obj))); }
  Result<T> update(const T& obj) { return decode(dynamic_.update(gvr_, ns_of(obj), ToObject(obj))); }
  Result<T> update_status(const T& obj) { return decode(dynamic_.update_status(gvr_, ns_of(obj), ToObject(obj))); }

  Result<T> patch(std::string_view ns, std::string_view name, PatchType type, std::string_view body,
                  std::string_view subresource = {}) {
    return decode(dynamic_.patch(gvr_, ns, name, type, body, subresource));
  }

  Status remove(std::string_view ns, std::string_view name, const DeleteOptions& options = {}) {
    auto r = dynamic_.remove(gvr_, ns, name, options);
    return r ? Status::Ok() : r.error();
  }

  Result<TypedWatch<T>> watch(std::string_view ns, const WatchOptions& options = {}) {
    auto w = dynamic_.watch(gvr_, ns, options);
    if (!w) return Err(w.error());
    return TypedWatch<T>(std::move(*w));
  }

  const GroupVersionResource& gvr() const { return gvr_; }

 private:
  std::string ns_of(const T& obj) const {
    if (!gvr_.namespaced) return {};
    return obj.metadata.namespace_.empty() ? dynamic_.rest().config().namespace_ : obj.metadata.namespace_;
  }
  static Result<T> decode(Result<boost::json::object> r) {
    if (!r) return Err(r.error());
    return FromObject<T>(boost::json::value(std::move(*r)));
  }

  mutable DynamicClient dynamic_;
  GroupVersionResource gvr_;
};

}  // namespace setpoint::client
