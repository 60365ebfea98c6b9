// MirrorReconciler: for every ConfigMap labelled mirror=true, keeps a copy named <name>-mirror in
// the same namespace with the same data and a controller owner reference to the original. Change
// the original and the copy follows; change or delete the copy and it is put back; delete the
// original (or remove its label) and the copy goes.
#pragma once

#include <atomic>

#include "setpoint/runtime/controller.h"
#include "setpoint/types/core_v1.h"

namespace mirror {

// The label that asks for a mirror, and the one a mirror carries.
inline constexpr char kWantsMirror[] = "mirror=true";
inline constexpr char kMirrorOf[] = "mirror-of";

class MirrorReconciler {
 public:
  // Called with the namespace/name of an original, never for the same one on two threads at once.
  // ctx.client reads from the manager's caches, and waits there for this operator's own writes.
  setpoint::runtime::ReconcileResult reconcile(const setpoint::runtime::Context& ctx,
                                               const setpoint::runtime::Request& req);

  // How many copies this reconciler created (tests check that it never makes one twice).
  int creates() const { return creates_.load(); }

 private:
  std::atomic<int> creates_{0};
};

// The controller that calls it: ConfigMaps labelled mirror=true (For) and the copies (Owns: an
// event on a copy wakes up its original). `reconciler` is borrowed and must outlive it.
setpoint::Result<setpoint::runtime::ControllerPtr> BuildController(setpoint::runtime::Controller::Builder builder,
                                                                   MirrorReconciler& reconciler);

}  // namespace mirror
