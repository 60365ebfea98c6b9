// The lifecycle controllers that finish deletions the API server starts, written with the SDK
// like any operator:
//
//   NamespaceReconciler   a namespace being deleted: deletes everything in it (every namespaced
//                         resource discovery lists, custom resources included, finalizers honoured
//                         by waiting), reports what blocks it in status.conditions as upstream
//                         (NamespaceContentRemaining, NamespaceFinalizersRemaining, …), then
//                         removes `kubernetes` from spec.finalizers through /finalize.
//   CrdCleanupReconciler  a CRD being deleted: deletes its custom resources (waiting for their
//                         finalizers), then removes customresourcecleanup.apiextensions.k8s.io.
//   EventTtlReconciler    deletes an Event a TTL after it was created or last seen, whichever is
//                         later (upstream: a TTL after its last write); otherwise comes back
//                         when it will be due.
//
// Reconcilers are safe to run concurrently on different keys; they keep no state between calls
// except a short-lived discovery cache.
#pragma once

#include <chrono>
#include <mutex>
#include <vector>

#include "setpoint/runtime/manager.h"
#include "setpoint/types/apiextensions_v1.h"
#include "setpoint/types/core_v1.h"

namespace setpoint::controllers {

inline const client::GroupVersionResource& kNamespaces = setpoint::types::GvrOf<setpoint::corev1::Namespace>();
inline const client::GroupVersionResource& kCrds =
    setpoint::types::GvrOf<setpoint::apiextensionsv1::CustomResourceDefinition>();
inline const client::GroupVersionResource& kEvents = setpoint::types::GvrOf<setpoint::corev1::Event>();

class NamespaceReconciler : public runtime::Reconciler {
 public:
  NamespaceReconciler(runtime::Manager& manager, client::RestClient& rest) : manager_(manager), rest_(rest) {}
  runtime::ReconcileResult reconcile(const runtime::Request& req) override;

 private:
  Result<std::vector<client::DiscoveredResource>> namespaced_resources();
  runtime::Manager& manager_;
  client::RestClient& rest_;
  std::mutex mu_;
  std::vector<client::DiscoveredResource> discovered_;     // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point discovered_at_{};  // GUARDED_BY(mu_)
};

class CrdCleanupReconciler : public runtime::Reconciler {
 public:
  explicit CrdCleanupReconciler(runtime::Manager& manager) : manager_(manager) {}
  runtime::ReconcileResult reconcile(const runtime::Request& req) override;

 private:
  runtime::Manager& manager_;
};

class EventTtlReconciler : public runtime::Reconciler {
 public:
  // `clock` judges an Event's age; null: the manager's Env's wall clock.
  EventTtlReconciler(runtime::Manager& manager, std::chrono::seconds ttl, ClockPtr clock = nullptr)
      : manager_(manager), ttl_(ttl), clock_(clock ? clock : manager.env()->wall()) {}
  runtime::ReconcileResult reconcile(const runtime::Request& req) override;

 private:
  runtime::Manager& manager_;
  const std::chrono::seconds ttl_;
  const ClockPtr clock_;
};

}  // namespace setpoint::controllers
