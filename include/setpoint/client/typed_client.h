// TypedClient<T>: get/list/create/update/update_status/patch/remove/watch of a typed resource
// (include/setpoint/types/meta.h: a described struct deriving from types::Object with its kKind)
// straight to the server, over a RestClient. runtime::Client is the same over any ObjectClient
// (cached, fake); this one also watches.
//
// Objects keep the JSON they were decoded from, so a read-modify-write keeps the fields T does not
// model. Writes use obj.metadata.namespace_, or the config's namespace when that is empty. An
// answer that does not decode as T is Internal. Thread-safe like DynamicClient; a TypedWatch is
// confined like a WatchStream.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "setpoint/client/dynamic_client.h"
#include "setpoint/types/meta.h"

namespace setpoint::client {

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
template <types::Resource T>
class TypedWatch {
 public:
  explicit TypedWatch(WatchStreamPtr stream) : stream_(std::move(stream)) {}
  Result<std::optional<TypedWatchEvent<T>>> next(std::chrono::milliseconds timeout) {
    auto e = stream_->next(timeout);
    if (!e) return Err(e.error());
    if (!*e) return std::optional<TypedWatchEvent<T>>();
    if (!(*e)->object.is_object()) return Err(Status::Internal("a watch event without an object"));
    auto obj = types::DecodeAnswer<T>(std::move((*e)->object.as_object()));
    if (!obj) return Err(obj.error());
    return std::optional<TypedWatchEvent<T>>(TypedWatchEvent<T>{std::move((*e)->type), std::move(*obj)});
  }
  bool ended() const { return stream_->ended(); }
  void cancel() { stream_->cancel(); }  // thread-safe

 private:
  WatchStreamPtr stream_;
};

template <types::Resource T>
class TypedClient {
 public:
  explicit TypedClient(RestClient& rest) : dynamic_(rest) {}

  Result<T> get(std::string_view ns, std::string_view name) { return decode(dynamic_.get(gvr(), ns, name)); }

  Result<TypedList<T>> list(std::string_view ns, const ListOptions& options = {}) {
    auto l = dynamic_.list(gvr(), ns, options);
    if (!l) return Err(l.error());
    TypedList<T> out{{}, std::move(l->resource_version), std::move(l->continue_)};
    out.items.reserve(l->items.size());
    for (auto& item : l->items) {
      auto t = types::DecodeAnswer<T>(std::move(item));
      if (!t) return Err(t.error());
      out.items.push_back(std::move(*t));
    }
    return out;
  }

  Result<T> create(const T& obj) { return decode(dynamic_.create(gvr(), ns_of(obj), types::Encode(obj))); }
  Result<T> update(const T& obj) { return decode(dynamic_.update(gvr(), ns_of(obj), types::Encode(obj))); }
  Result<T> update_status(const T& obj) {
    return decode(dynamic_.update_status(gvr(), ns_of(obj), types::Encode(obj)));
  }

  Result<T> patch(std::string_view ns, std::string_view name, PatchType type, std::string_view body,
                  std::string_view subresource = {}) {
    return decode(dynamic_.patch(gvr(), ns, name, type, body, subresource));
  }

  Status remove(std::string_view ns, std::string_view name, const DeleteOptions& options = {}) {
    auto r = dynamic_.remove(gvr(), ns, name, options);
    return r ? Status::Ok() : r.error();
  }

  Result<TypedWatch<T>> watch(std::string_view ns, const WatchOptions& options = {}) {
    auto w = dynamic_.watch(gvr(), ns, options);
    if (!w) return Err(w.error());
    return TypedWatch<T>(std::move(*w));
  }

  static const GroupVersionResource& gvr() { return types::GvrOf<T>(); }

 private:
  std::string ns_of(const T& obj) const {
    if (!T::kKind.namespaced) return {};
    return obj.metadata.namespace_.empty() ? dynamic_.rest().config().namespace_ : obj.metadata.namespace_;
  }
  static Result<T> decode(Result<boost::json::object> r) {
    if (!r) return Err(r.error());
    return types::DecodeAnswer<T>(std::move(*r));
  }

  mutable DynamicClient dynamic_;
};

}  // namespace setpoint::client
