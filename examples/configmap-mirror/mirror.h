// MirrorReconciler: for every ConfigMap labelled mirror=true, keeps a copy named <name>-mirror in
// the same namespace with the same data and a controller owner reference to the original. Change
// the original and the copy follows; change or delete the copy and it is put back; delete the
// original (or remove its label) and the copy goes.
#pragma once

#include <atomic>

#include "setpoint/runtime/cached_client.h"
#include "setpoint/runtime/controller.h"
#include "setpoint/runtime/event_recorder.h"

namespace mirror {

inline const setpoint::client::GroupVersionResource kConfigMaps{"", "v1", "configmaps", true, "ConfigMap"};

// The label that asks for a mirror, and the one a mirror carries.
inline constexpr char kWantsMirror[] = "mirror=true";
inline constexpr char kMirrorOf[] = "mirror-of";

class MirrorReconciler : public setpoint::runtime::Reconciler {
 public:
  // Both borrowed from the Manager: reads come from its caches and wait for our own writes;
  // events are written in the background.
  MirrorReconciler(setpoint::runtime::CachedClient& client, setpoint::runtime::EventRecorder& recorder)
      : client_(client), recorder_(recorder) {}

  // Called with the namespace/name of an original, never for the same one on two threads at once.
  setpoint::runtime::ReconcileResult reconcile(const setpoint::runtime::Request& req) override;

  // How many copies this reconciler created (tests check that it never makes one twice).
  int creates() const { return creates_.load(); }

 private:
  setpoint::runtime::CachedClient& client_;
  setpoint::runtime::EventRecorder& recorder_;
  std::atomic<int> creates_{0};
};

// The controller that calls it: ConfigMaps labelled mirror=true (For) and the copies (Owns: an
// event on a copy wakes up its original).
setpoint::Result<setpoint::runtime::ControllerPtr> BuildController(setpoint::runtime::Controller::Builder builder,
                                                                   MirrorReconciler& reconciler);

}  // namespace mirror
