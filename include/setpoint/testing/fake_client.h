// FakeClient: an ObjectClient that keeps objects in memory, for unit tests of a reconciler with no
// server — controller-runtime's fake client, with the API server's write rules:
//
//   setpoint::testing::FakeClient fake;
//   fake.add(memcached);                                  // seeds it (uid, resourceVersion, ...)
//   setpoint::testing::FakeEvents events;
//   runtime::Context ctx{{}, runtime::Client(fake), &events};
//   auto result = reconcile(ctx, {"default", "sample"});
//   auto set = ctx.client.get<ProcessSet>("default", "sample");
//
// What it does as the server does: uids, resourceVersions from one counter, generation bumped when
// anything but metadata and status changes, creationTimestamp, generateName; conditional updates
// (Conflict on a stale resourceVersion); update ignores status, update_status everything else
// (every resource is taken to have a status subresource); merge, JSON and strategic merge patches;
// a delete of an object with finalizers sets deletionTimestamp, and the object goes when the last
// finalizer is removed. What it does not: schemas (no defaulting, pruning or validation),
// admission, garbage collection by owner references, watches.
//
// fail_when() makes chosen calls fail, as TestServer's knobs do for a real server. Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "setpoint/common/clock.h"
#include "setpoint/runtime/event_recorder.h"
#include "setpoint/runtime/object_client.h"
#include "setpoint/types/meta.h"

namespace setpoint::testing {

class FakeClient final : public runtime::ObjectClient {
 public:
  explicit FakeClient(ClockPtr clock = nullptr);

  // Stores `obj` as it is, filling uid, resourceVersion, creationTimestamp and generation when
  // absent (a seed for a test, not an API create: status and deletionTimestamp are kept).
  void add(const client::GroupVersionResource& gvr, boost::json::object obj);
  template <types::Resource T>
  void add(const T& obj) {
    add(types::GvrOf<T>(), types::Encode(obj));
  }

  // Before each call: a non-OK answer fails it with that Status (and changes nothing). `verb` is
  // get, list, create, update, update_status, patch or delete.
  using Failure = std::function<Status(std::string_view verb, const client::GroupVersionResource& gvr,
                                       std::string_view ns, std::string_view name)>;
  void fail_when(Failure failure);

  // Every successful write, in order: "create processsets default/sample", "update_status ...".
  std::vector<std::string> writes() const;
  void clear_writes();

  Result<runtime::ObjectPtr> get(const client::GroupVersionResource& gvr, std::string_view ns,
                                 std::string_view name) override;
  Result<std::vector<runtime::ObjectPtr>> list(const client::GroupVersionResource& gvr, std::string_view ns = {},
                                               const api::LabelSelector* selector = nullptr) override;
  Result<boost::json::object> create(const client::GroupVersionResource& gvr, std::string_view ns,
                                     const boost::json::object& obj) override;
  Result<boost::json::object> update(const client::GroupVersionResource& gvr, std::string_view ns,
                                     const boost::json::object& obj) override;
  Result<boost::json::object> update_status(const client::GroupVersionResource& gvr, std::string_view ns,
                                            const boost::json::object& obj) override;
  Result<boost::json::object> patch(const client::GroupVersionResource& gvr, std::string_view ns, std::string_view name,
                                    client::PatchType type, std::string_view body,
                                    std::string_view subresource = {}) override;
  Result<boost::json::object> remove(const client::GroupVersionResource& gvr, std::string_view ns,
                                     std::string_view name, const client::DeleteOptions& options = {}) override;

 private:
  using Store = std::map<std::string, runtime::ObjectPtr>;  // "ns/name" -> object
  Status check(std::string_view verb, const client::GroupVersionResource& gvr, std::string_view ns,
               std::string_view name) const;
  // The update and update_status rules, under mu_.
  Result<boost::json::object> write_locked(const client::GroupVersionResource& gvr, std::string_view ns,
                                           boost::json::object obj, bool status);
  Store& store_locked(const client::GroupVersionResource& gvr) { return objects_[gvr.group + "/" + gvr.resource]; }

  const ClockPtr clock_;
  mutable std::mutex mu_;
  std::map<std::string, Store> objects_;  // GUARDED_BY(mu_); by group/resource
  std::uint64_t revision_ = 0;            // GUARDED_BY(mu_)
  std::uint64_t uids_ = 0;                // GUARDED_BY(mu_)
  std::vector<std::string> writes_;       // GUARDED_BY(mu_)
  Failure failure_;                       // GUARDED_BY(mu_)
};

// An EventSink that keeps what it is given.
class FakeEvents final : public runtime::EventSink {
 public:
  struct Event {
    std::string type, reason, message, kind, ns, name;
  };
  void event(const boost::json::object& object, std::string_view type, std::string_view reason,
             std::string message) override;
  std::vector<Event> events() const;

 private:
  mutable std::mutex mu_;
  std::vector<Event> events_;  // GUARDED_BY(mu_)
};

}  // namespace setpoint::testing
