// MemcachedReconciler: the Operator SDK tutorial's reconciler (its current, conditions-and-
// finalizer form), on setpoint. For each Memcached it keeps a ProcessSet of the same name running
// spec.size memcached servers — server i on spec.port + i — and reports:
//
//   status.conditions  Available (Unknown/Reconciling at first, True once every server is ready,
//                      False/Resizing when a resize fails), Degraded (Finalizing while deleted)
//   status.nodes       the names of the ready memcached processes
//
// Deleting a Memcached runs the finalizer sequence (Degraded Unknown → Warning event "Deleting" →
// Degraded True → finalizer removed); the ProcessSet and its processes then go by garbage
// collection through their owner reference.
#pragma once

#include <string>

#include "setpoint/runtime/cached_client.h"
#include "setpoint/runtime/controller.h"
#include "setpoint/runtime/event_recorder.h"

namespace memcached {

struct Options {
  // The memcached program the agent starts (looked up in the agent's PATH). Empty is an error the
  // reconciler reports, as the tutorial does for a missing MEMCACHED_IMAGE.
  std::string binary = "memcached";
};

class MemcachedReconciler : public setpoint::runtime::Reconciler {
 public:
  // Borrowed from the Manager; they must outlive the reconciler.
  MemcachedReconciler(setpoint::runtime::CachedClient& client, setpoint::runtime::EventRecorder& recorder,
                      Options options = {})
      : client_(client), recorder_(recorder), options_(std::move(options)) {}

  setpoint::runtime::ReconcileResult reconcile(const setpoint::runtime::Request& req) override;

 private:
  setpoint::runtime::CachedClient& client_;
  setpoint::runtime::EventRecorder& recorder_;
  const Options options_;
};

// The ProcessSet for a Memcached: name and namespace of the CR, replicas = spec.size, memcached
// on port spec.port + $PROCESS_INDEX with spec.memoryMB, a TCP readiness probe, and a controller
// reference to the CR. Invalid when options.binary is empty.
setpoint::Result<boost::json::object> ProcessSetFor(const boost::json::object& memcached, const Options& options);

// For(Memcached), Owns(ProcessSet): a hand-made change to the ProcessSet wakes its Memcached.
setpoint::Result<setpoint::runtime::ControllerPtr> BuildController(setpoint::runtime::Controller::Builder builder,
                                                                   MemcachedReconciler& reconciler);

}  // namespace memcached
