// runtime::Client: typed reads and writes over any ObjectClient (the manager's cached client, a
// DirectClient, the test kit's FakeClient).
//
//   runtime::Client c(manager.client());
//   auto cr = c.get<Memcached>(request);          // Result<Memcached>; NotFound when gone
//   cr->status.readyReplicas = 3;
//   auto written = c.update_status(*cr);          // Result<Memcached>, as the server stored it
//
// Objects are values: a read is decoded from the (immutable, shared) JSON it came from, which the
// value keeps, so that a write of it loses no field its type does not model (types/meta.h).
// Writes go to obj.metadata.namespace_. Errors are the underlying client's; an answer that does
// not decode as T is Internal naming the field. Thread-safe as the ObjectClient is.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "setpoint/runtime/object_client.h"
#include "setpoint/runtime/reconcile.h"
#include "setpoint/types/meta.h"

namespace setpoint::runtime {

class Client {
 public:
  explicit Client(ObjectClient& objects) : objects_(&objects) {}

  template <types::Resource T>
  Result<T> get(std::string_view ns, std::string_view name) const {
    auto got = objects_->get(types::GvrOf<T>(), ns, name);
    if (!got) return Err(got.error());
    return types::DecodeAnswer<T>(std::move(*got));
  }
  template <types::Resource T>
  Result<T> get(const Request& request) const {
    return get<T>(request.ns, request.name);
  }

  // The object as a shared, immutable value: through a cache (the manager's client), decoded once
  // per version of the object and kept with it, however often it is read; elsewhere decoded on each
  // call. For reads that do not modify; copy to write.
  template <types::Resource T>
  Result<std::shared_ptr<const T>> view(std::string_view ns, std::string_view name) const {
    auto got = objects_->view(types::GvrOf<T>(), ns, name, DecoderOf<T>());
    if (!got) return Err(got.error());
    return std::static_pointer_cast<const T>(std::move(*got));
  }
  template <types::Resource T>
  Result<std::shared_ptr<const T>> view(const Request& request) const {
    return view<T>(request.ns, request.name);
  }

  // Every T in `ns` (all namespaces when empty) that `selector` matches.
  template <types::Resource T>
  Result<std::vector<T>> list(std::string_view ns = {}, const api::LabelSelector* selector = nullptr) const {
    auto items = objects_->list(types::GvrOf<T>(), ns, selector);
    if (!items) return Err(items.error());
    std::vector<T> out;
    out.reserve(items->size());
    for (auto& item : *items) {
      auto t = types::DecodeAnswer<T>(std::move(item));
      if (!t) return Err(t.error());
      out.push_back(std::move(*t));
    }
    return out;
  }
  // list() as shared, immutable values (see view()).
  template <types::Resource T>
  Result<std::vector<std::shared_ptr<const T>>> view_list(std::string_view ns = {},
                                                          const api::LabelSelector* selector = nullptr) const {
    auto items = objects_->list_views(types::GvrOf<T>(), ns, selector, DecoderOf<T>());
    if (!items) return Err(items.error());
    std::vector<std::shared_ptr<const T>> out;
    out.reserve(items->size());
    for (auto& item : *items) out.push_back(std::static_pointer_cast<const T>(std::move(item)));
    return out;
  }

  // The Ts a cache index holds under `value` (kOwnerUidIndex: what an owner's uid owns), as
  // shared, immutable values (see view()).
  template <types::Resource T>
  Result<std::vector<std::shared_ptr<const T>>> view_index(std::string_view index, std::string_view value) const {
    auto items = objects_->index_views(types::GvrOf<T>(), index, value, DecoderOf<T>());
    if (!items) return Err(items.error());
    std::vector<std::shared_ptr<const T>> out;
    out.reserve(items->size());
    for (auto& item : *items) out.push_back(std::static_pointer_cast<const T>(std::move(item)));
    return out;
  }

  // Those carrying every one of `labels`.
  template <types::Resource T>
  Result<std::vector<T>> list(std::string_view ns, const std::map<std::string, std::string>& labels) const {
    boost::json::object match;
    for (const auto& [k, v] : labels) match[k] = v;
    auto selector = api::LabelSelector::FromJson(boost::json::object{{"matchLabels", std::move(match)}});
    if (!selector) return Err(selector.error());
    return list<T>(ns, &*selector);
  }

  template <types::Resource T>
  Result<T> create(const T& obj) const {
    return decode<T>(objects_->create(types::GvrOf<T>(), obj.metadata.namespace_, types::Encode(obj)));
  }
  template <types::Resource T>
  Result<T> update(const T& obj) const {
    return decode<T>(objects_->update(types::GvrOf<T>(), obj.metadata.namespace_, types::Encode(obj)));
  }
  template <types::Resource T>
  Result<T> update_status(const T& obj) const {
    return decode<T>(objects_->update_status(types::GvrOf<T>(), obj.metadata.namespace_, types::Encode(obj)));
  }
  // update_status() only when obj's status differs from the status it was read with (or it was
  // not read); otherwise obj as it is, with no request.
  template <types::Resource T>
  Result<T> update_status_if_changed(const T& obj) const {
    boost::json::object encoded = types::Encode(obj);
    if (obj.original) {
      const boost::json::value* was = obj.original->if_contains("status");
      const boost::json::value* now = encoded.if_contains("status");
      if ((!was && !now) || (was && now && *was == *now)) return obj;
    }
    return decode<T>(objects_->update_status(types::GvrOf<T>(), obj.metadata.namespace_, encoded));
  }
  template <types::Resource T>
  Result<T> patch(std::string_view ns, std::string_view name, client::PatchType type, std::string_view body,
                  std::string_view subresource = {}) const {
    return decode<T>(objects_->patch(types::GvrOf<T>(), ns, name, type, body, subresource));
  }
  // Deletes the object; Ok when it is gone or now waits for its finalizers.
  template <types::Resource T>
  Status remove(const T& obj, const client::DeleteOptions& options = {}) const {
    auto r = objects_->remove(types::GvrOf<T>(), obj.metadata.namespace_, obj.metadata.name, options);
    return r ? Status::Ok() : r.error();
  }

  // Sets `c` in obj.status.conditions (types::SetCondition; observedGeneration: the object's
  // generation when c leaves it 0) and writes the status if that changed anything. Returns the
  // object as stored, or as given when nothing changed.
  template <types::Resource T>
  requires requires(T t) { types::SetCondition(t.status.conditions, types::Condition{}); }
  Result<T> set_condition(T obj, types::Condition c) const {
    if (c.observedGeneration == 0) c.observedGeneration = obj.metadata.generation;
    if (!types::SetCondition(obj.status.conditions, std::move(c))) return obj;
    return update_status(obj);
  }

  template <types::Resource T>
  Result<T> set_condition(T obj, std::string type, std::string status, std::string reason, std::string message) const {
    return set_condition(std::move(obj), types::Condition{std::move(type), std::move(status), 0, "", std::move(reason),
                                                          std::move(message)});
  }

  ObjectClient& objects() const { return *objects_; }

 private:
  template <types::Resource T>
  static Result<T> decode(Result<boost::json::object> r) {
    if (!r) return Err(r.error());
    return types::DecodeAnswer<T>(std::move(*r));
  }
  // T's decoding for view(): one per type, its own address naming the type.
  template <types::Resource T>
  static const ViewDecoder& DecoderOf() {
    static const ViewDecoder decoder{
        &decoder, [](const ObjectPtr& object) -> Result<std::shared_ptr<const void>> {
          auto typed = types::Decode<T>(object);
          if (!typed) return Err(Status::Internal("cannot decode the answer: " + typed.error().message()));
          return std::shared_ptr<const void>(std::make_shared<const T>(std::move(*typed)));
        }};
    return decoder;
  }

  ObjectClient* objects_;
};

}  // namespace setpoint::runtime
