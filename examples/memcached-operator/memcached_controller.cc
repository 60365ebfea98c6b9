#include "memcached_controller.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include <boost/json.hpp>

#include "memcached_types.h"
#include "setpoint/api/label_selector.h"
#include "setpoint/runtime/conditions.h"
#include "setpoint/runtime/object_helpers.h"

namespace memcached {

namespace json = boost::json;
namespace runtime = setpoint::runtime;
using runtime::ReconcileResult;
using setpoint::Status;
using setpoint::StatusCode;

namespace {

const json::object& Obj(const json::object& o, std::string_view key) {
  static const json::object kEmpty;
  const json::value* v = o.if_contains(key);
  return v && v->is_object() ? v->as_object() : kEmpty;
}

std::int64_t Int(const json::object& o, std::string_view key, std::int64_t fallback) {
  const json::value* v = o.if_contains(key);
  return v && v->is_int64()    ? v->as_int64()
         : v && v->is_uint64() ? static_cast<std::int64_t>(v->as_uint64())
                               : fallback;
}

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::int64_t Generation(const json::object& o) { return Int(Obj(o, "metadata"), "generation", 0); }

// True when everything `want` says is in `have`: the server adds defaults to what we write, so
// equality would never hold and we would rewrite the ProcessSet forever.
bool Covers(const json::value& have, const json::value& want) {
  if (want.is_object()) {
    if (!have.is_object()) return false;
    for (const auto& [k, v] : want.as_object()) {
      const json::value* h = have.as_object().if_contains(k);
      if (!h || !Covers(*h, v)) return false;
    }
    return true;
  }
  if (want.is_array()) {
    if (!have.is_array() || have.as_array().size() != want.as_array().size()) return false;
    for (std::size_t i = 0; i < want.as_array().size(); ++i)
      if (!Covers(have.as_array()[i], want.as_array()[i])) return false;
    return true;
  }
  return have == want;
}

// The labels of the ProcessSet and its processes (the tutorial's app.kubernetes.io set).
json::object Labels(const std::string& name) {
  return {{"app.kubernetes.io/name", "memcached"},
          {"app.kubernetes.io/instance", name},
          {"app.kubernetes.io/managed-by", "MemcachedController"}};
}

// Sets a condition (observedGeneration = the CR's generation) on a copy of the CR's status and
// writes it when anything changed. Returns the written object (or the input when unchanged).
setpoint::Result<json::object> SetCondition(runtime::CachedClient& client, json::object cr, std::string_view type,
                                            std::string_view status, std::string_view reason, std::string message) {
  json::object& st = cr["status"].is_object() ? cr["status"].as_object() : (cr["status"] = json::object()).as_object();
  json::array conditions =
      st.contains("conditions") && st["conditions"].is_array() ? st["conditions"].as_array() : json::array();
  runtime::Condition c{std::string(type),  std::string(status), std::string(reason),
                       std::move(message), Generation(cr),      std::nullopt};
  if (!runtime::set_condition(conditions, c, std::chrono::system_clock::now())) return cr;
  st["conditions"] = std::move(conditions);
  const std::string ns = Str(Obj(cr, "metadata"), "namespace");
  return client.update_status(kMemcacheds, ns, cr);
}

}  // namespace

setpoint::Result<json::object> ProcessSetFor(const json::object& cr, const Options& options) {
  if (options.binary.empty())
    return setpoint::Err(Status::Invalid("no memcached binary configured (MEMCACHED_BINARY is empty)"));
  const json::object& meta = Obj(cr, "metadata");
  const json::object& spec = Obj(cr, "spec");
  const std::string name = Str(meta, "name");
  const json::object labels = Labels(name);
  json::array command{json::string(options.binary), "-p", "$(PORT_MEMCACHED)", "-l", "127.0.0.1", "-U", "0", "-m",
                      json::string(std::to_string(Int(spec, "memoryMB", 64))), "-o", "modern", "-v",
                      // memcached refuses to run as root without -u, and ignores it otherwise.
                      "-u", "nobody"};
  json::object process_spec{
      {"command", std::move(command)},
      {"ports",
       json::array{json::object{{"name", "memcached"}, {"port", Int(spec, "port", 11211)}, {"indexed", true}}}},
      {"readinessProbe", {{"tcpSocket", {{"port", "memcached"}}}, {"periodSeconds", 1}}},
      {"livenessProbe", {{"tcpSocket", {{"port", "memcached"}}}, {"periodSeconds", 10}, {"failureThreshold", 3}}},
      {"terminationGracePeriodSeconds", 10}};
  json::object set{
      {"apiVersion", "setpoint.dev/v1alpha1"},
      {"kind", "ProcessSet"},
      {"metadata", {{"name", name}, {"namespace", Str(meta, "namespace")}, {"labels", labels}}},
      {"spec",
       {{"replicas", Int(spec, "size", 1)},
        {"selector", {{"matchLabels", labels}}},
        // Each server has a fixed port of its own: replace them one at a time.
        {"strategy", {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", 0}, {"maxUnavailable", 1}}}}},
        {"template", {{"metadata", {{"labels", labels}}}, {"spec", std::move(process_spec)}}}}}};
  json::object owner = cr;
  owner["apiVersion"] = "cache.example.com/v1alpha1";
  owner["kind"] = "Memcached";
  if (Status s = runtime::set_controller_reference(owner, set); !s.ok()) return setpoint::Err(s);
  return set;
}

ReconcileResult MemcachedReconciler::reconcile(const runtime::Request& req) {
  // 1. Fetch the Memcached. Gone: nothing to do (its ProcessSet goes by garbage collection).
  auto got = client_.get(kMemcacheds, req.ns, req.name);
  if (!got) {
    if (got.error().code() == StatusCode::kNotFound) return ReconcileResult::Done();
    return ReconcileResult::Retry(got.error());
  }
  json::object cr = **got;
  cr["apiVersion"] = "cache.example.com/v1alpha1";
  cr["kind"] = "Memcached";

  // 2. First sight: say so before anything else, then work from what the server returned (the
  //    tutorial re-fetches here to avoid a conflict on the next write).
  const json::object& status = Obj(cr, "status");
  if (!status.contains("conditions") || !status.at("conditions").is_array() ||
      status.at("conditions").as_array().empty()) {
    auto updated = SetCondition(client_, cr, kAvailable, "Unknown", "Reconciling", "Starting reconciliation");
    if (!updated) return ReconcileResult::Retry(updated.error());
    cr = std::move(*updated);
  }

  // 3. The finalizer, so that deletion waits for our clean-up.
  if (!runtime::deletion_requested(cr) && runtime::add_finalizer(cr, kFinalizer)) {
    auto updated = client_.update(kMemcacheds, req.ns, cr);
    if (!updated) return ReconcileResult::Retry(updated.error());
    cr = std::move(*updated);
  }

  // 4. Being deleted: the finalizer sequence.
  if (runtime::deletion_requested(cr)) {
    if (!runtime::has_finalizer(cr, kFinalizer)) return ReconcileResult::Done();
    auto degraded = SetCondition(client_, cr, kDegraded, "Unknown", "Finalizing",
                                 "Performing finalizer operations for the custom resource: " + req.name + " ");
    if (!degraded) return ReconcileResult::Retry(degraded.error());
    recorder_.event(cr, "Warning", "Deleting",
                    "Custom Resource " + req.name + " is being deleted from the namespace " + req.ns);
    auto done =
        SetCondition(client_, *degraded, kDegraded, "True", "Finalizing",
                     "Finalizer operations for custom resource " + req.name + " name were successfully accomplished");
    if (!done) return ReconcileResult::Retry(done.error());
    json::object last = std::move(*done);
    runtime::remove_finalizer(last, kFinalizer);
    auto removed = client_.update(kMemcacheds, req.ns, last);
    if (!removed && removed.error().code() != StatusCode::kNotFound) return ReconcileResult::Retry(removed.error());
    return ReconcileResult::Done();
  }

  // 5. The ProcessSet: create it when missing.
  const std::int64_t size = Int(Obj(cr, "spec"), "size", 1);
  auto want = ProcessSetFor(cr, options_);
  auto existing = client_.get(kProcessSets, req.ns, req.name);
  if (!existing && existing.error().code() != StatusCode::kNotFound) return ReconcileResult::Retry(existing.error());
  if (!existing) {
    Status failure = want ? Status::Ok() : want.error();
    if (want) {
      auto created = client_.create(kProcessSets, req.ns, *want);
      if (created) return ReconcileResult::RequeueAfter(std::chrono::minutes(1));
      failure = created.error();
    }
    auto reported = SetCondition(
        client_, cr, kAvailable, "False", "Reconciling",
        "Failed to create ProcessSet for the custom resource (" + req.name + "): (" + failure.message() + ")");
    (void)reported;
    return ReconcileResult::Retry(failure);
  }

  // 6. Size (and template) as the spec says: someone scaling the ProcessSet by hand is undone.
  json::object set = **existing;
  json::object& set_spec = set["spec"].as_object();
  const bool resize = Int(set_spec, "replicas", -1) != size;
  const bool retemplate = want && !Covers(set_spec["template"], (*want)["spec"].as_object()["template"]);
  if (resize || retemplate) {
    set_spec["replicas"] = size;
    if (want) set_spec["template"] = (*want)["spec"].as_object()["template"];
    auto updated = client_.update(kProcessSets, req.ns, set);
    if (!updated) {
      auto fresh = client_.get(kMemcacheds, req.ns, req.name);
      json::object latest = fresh ? **fresh : cr;
      auto reported = SetCondition(
          client_, latest, kAvailable, "False", "Resizing",
          "Failed to update the size for the custom resource (" + req.name + "): (" + updated.error().message() + ")");
      (void)reported;
      return ReconcileResult::Retry(updated.error());
    }
    return ReconcileResult::RequeueAfter(std::chrono::milliseconds(0));  // the tutorial's Requeue: true
  }

  // 7. Report: the ready processes by name, and Available once all of them are.
  auto selector = setpoint::api::LabelSelector::Parse("app.kubernetes.io/instance=" + req.name +
                                                      ",app.kubernetes.io/managed-by=MemcachedController");
  auto processes = client_.list(kProcesses, req.ns, &*selector);
  if (!processes) return ReconcileResult::Retry(processes.error());
  std::vector<std::string> nodes;
  for (const auto& p : *processes) {
    const json::object& st = Obj(*p, "status");
    const json::value* ready = st.if_contains("ready");
    if (!runtime::deletion_requested(*p) && ready && ready->is_bool() && ready->as_bool())
      nodes.push_back(Str(Obj(*p, "metadata"), "name"));
  }
  std::sort(nodes.begin(), nodes.end());
  const std::int64_t ready = static_cast<std::int64_t>(nodes.size());
  json::object next = cr;
  json::object& next_status =
      next["status"].is_object() ? next["status"].as_object() : (next["status"] = json::object()).as_object();
  json::array node_array;
  for (const auto& n : nodes) node_array.emplace_back(n);
  next_status["nodes"] = std::move(node_array);
  next_status["readyReplicas"] = ready;
  next_status["observedGeneration"] = Generation(cr);
  json::array conditions = next_status.contains("conditions") && next_status["conditions"].is_array()
                               ? next_status["conditions"].as_array()
                               : json::array();
  const bool all_ready = ready == size;
  runtime::Condition available{
      std::string(kAvailable),
      all_ready ? "True" : "Unknown",
      "Reconciling",
      all_ready ? "ProcessSet for custom resource (" + req.name + ") with " + std::to_string(size) +
                      " replicas created successfully"
                : "Waiting for memcached servers: " + std::to_string(ready) + " of " + std::to_string(size) + " ready",
      Generation(cr),
      std::nullopt};
  runtime::set_condition(conditions, available, std::chrono::system_clock::now());
  next_status["conditions"] = std::move(conditions);
  if (next_status != Obj(cr, "status")) {
    auto written = client_.update_status(kMemcacheds, req.ns, next);
    if (!written) return ReconcileResult::Retry(written.error());
  }
  return ReconcileResult::Done();
}

setpoint::Result<runtime::ControllerPtr> BuildController(runtime::Controller::Builder builder,
                                                         MemcachedReconciler& reconciler) {
  return builder.For(kMemcacheds).Owns(kProcessSets).Complete(reconciler);
}

}  // namespace memcached
