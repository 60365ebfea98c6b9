// configmap-mirror: a small operator on the setpoint SDK.
//
// For every ConfigMap labelled mirror=true in one namespace it keeps a copy, <name>-mirror, with
// the same data and a controller owner reference to the original. Change the original and the
// copy follows; change or delete the copy and it is put back; delete the original and the copy
// goes too.
//
//   configmap-mirror [--kubeconfig FILE] [--namespace NS] [--api-version GROUP/VERSION]
//
// --api-version defaults to v1, the core ConfigMap. For a setpoint server without core ConfigMaps
// (older builds), configmap-crd.yaml defines one of the same shape in demo.setpoint.dev/v1.
//
// The pieces: a Controller watches ConfigMaps twice, For() the labelled originals and Owns() the
// copies (an event on a copy wakes its owner up), and calls our Reconciler with the original's
// namespace/name. The Reconciler compares what is with what should be and writes the difference
// through the DynamicClient. It keeps nothing between calls: every event leads to the same code.
#include <pthread.h>

#include <csignal>
#include <iostream>
#include <string>

#include <boost/json.hpp>

#include "setpoint/client/config.h"
#include "setpoint/client/dynamic_client.h"
#include "setpoint/runtime/controller.h"
#include "setpoint/runtime/object_helpers.h"
#include "setpoint/runtime/predicates.h"

namespace json = boost::json;
namespace client = setpoint::client;
namespace runtime = setpoint::runtime;
using setpoint::Status;
using setpoint::StatusCode;
using setpoint::runtime::ReconcileResult;

// The label that asks for a mirror (the same syntax as kubectl's -l).
const setpoint::api::LabelSelector kWantsMirror = *setpoint::api::LabelSelector::Parse("mirror=true");

// A field as an object; a missing one counts as empty.
json::object Field(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  return v && v->is_object() ? v->as_object() : json::object();
}
// A string field, or "" when missing.
std::string_view Str(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  return v && v->is_string() ? std::string_view(v->as_string()) : std::string_view();
}
// What we mirror: data and binaryData.
void CopyData(const json::object& from, json::object& to) {
  for (std::string_view key : {"data", "binaryData"}) {
    if (json::object f = Field(from, key); !f.empty()) to[key] = std::move(f);
    else to.erase(key);
  }
}
bool SameData(const json::object& a, const json::object& b) {
  return Field(a, "data") == Field(b, "data") && Field(a, "binaryData") == Field(b, "binaryData");
}

class MirrorReconciler : public runtime::Reconciler {
 public:
  MirrorReconciler(client::DynamicClient& client, client::GroupVersionResource gvr) : client_(client), gvr_(gvr) {}
  // The controller's cache of ConfigMaps: a watched local copy, read without asking the server.
  void attach(const runtime::Controller& c) { cache_ = c.cache(gvr_); }

  // Called with the namespace/name of an original, on one worker thread at a time.
  ReconcileResult reconcile(const runtime::Request& req) override {
    const std::string mirror_name = req.name + "-mirror";
    runtime::ObjectPtr original = cache_->get(req.ns, req.name);
    // The copy comes from the server, not the cache: For() and Owns() watch the same resource
    // through two informers, and cache() is For()'s. The Owns() event that woke us ("the copy was
    // deleted") may not have reached that cache yet, and we would see the copy still there.
    auto got = client_.get(gvr_, req.ns, mirror_name);
    if (!got && got.error().code() != StatusCode::kNotFound) return ReconcileResult::Retry(got.error());
    const json::object* mirror = got ? &*got : nullptr;
    const json::object* owner = mirror ? runtime::get_controller_of(*mirror) : nullptr;
    const bool ours = owner && Str(*owner, "kind") == gvr_.kind && Str(*owner, "name") == req.name;

    // 1. The original is gone: delete our copy. (On Kubernetes the garbage collector does this,
    //    because of the owner reference; setpoint server has no garbage collector yet.)
    if (!original || runtime::deletion_requested(*original)) {
      if (!ours) return ReconcileResult::Done();
      auto r = client_.remove(gvr_, req.ns, mirror_name);
      if (!r && r.error().code() != StatusCode::kNotFound) return ReconcileResult::Retry(r.error());
      if (r) std::cout << "deleted " << req.ns << "/" << mirror_name << std::endl;
      return ReconcileResult::Done();
    }
    // The label was removed: stop mirroring, leave the last copy alone.
    const json::object labels = Field(Field(*original, "metadata"), "labels");
    if (!kWantsMirror.matches(&labels)) return ReconcileResult::Done();

    // 2. What the copy should be. No mirror=true label on it, or we would mirror the mirror.
    json::object want{{"apiVersion", gvr_.api_version()},
                      {"kind", gvr_.kind},
                      {"metadata", {{"name", mirror_name}, {"namespace", req.ns}, {"labels", {{"mirror-of", req.name}}}}}};
    CopyData(*original, want);
    // List items may come without apiVersion/kind; the owner reference needs both.
    json::object owner_obj = *original;
    owner_obj["apiVersion"] = gvr_.api_version();
    owner_obj["kind"] = gvr_.kind;
    if (Status s = runtime::set_controller_reference(owner_obj, want); !s.ok())
      return ReconcileResult::Terminal(s);  // a bug of ours: retrying will not help

    // 3. No copy yet: create it. AlreadyExists means our cache is behind the server; the copy's
    //    own event (through Owns) brings us back here with a fresher view.
    if (!mirror) {
      auto r = client_.create(gvr_, req.ns, want);
      if (!r && r.error().code() != StatusCode::kAlreadyExists) return ReconcileResult::Retry(r.error());
      if (r) std::cout << "created " << req.ns << "/" << mirror_name << std::endl;
      return ReconcileResult::Done();
    }

    // 4. A copy exists. Never overwrite one someone else made, or one an older original owned.
    if (!ours || Str(*owner, "uid") != Str(original->at("metadata").as_object(), "uid"))
      return ReconcileResult::Terminal(
          Status::Conflict(req.ns + "/" + mirror_name + " exists and is not a mirror of " + req.name));
    if (SameData(*mirror, want)) return ReconcileResult::Done();  // in sync: the usual case

    // 5. Out of date: update it. The copy carries its resourceVersion, so the update is
    //    conditional; a Conflict (someone wrote in between) is retried with backoff.
    json::object updated = *mirror;
    CopyData(want, updated);
    auto r = client_.update(gvr_, req.ns, updated);
    if (!r) return ReconcileResult::Retry(r.error());
    std::cout << "updated " << req.ns << "/" << mirror_name << std::endl;
    return ReconcileResult::Done();
  }

 private:
  client::DynamicClient& client_;
  const client::GroupVersionResource gvr_;
  const runtime::Cache* cache_ = nullptr;
};

int main(int argc, char** argv) {
  client::KubeconfigOptions kubeconfig;  // empty path: $KUBECONFIG, then ~/.kube/config
  std::string ns;                        // empty: the kubeconfig context's namespace
  client::GroupVersionResource configmaps{"", "v1", "configmaps", true, "ConfigMap"};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--kubeconfig" && i + 1 < argc) kubeconfig.path = argv[++i];
    else if (arg == "--namespace" && i + 1 < argc) ns = argv[++i];
    else if (arg == "--api-version" && i + 1 < argc) {
      const std::string gv = argv[++i];
      const auto slash = gv.rfind('/');
      configmaps.group = slash == std::string::npos ? "" : gv.substr(0, slash);
      configmaps.version = gv.substr(slash + 1);  // npos + 1 == 0
    } else {
      std::cerr << "usage: " << argv[0] << " [--kubeconfig FILE] [--namespace NS] [--api-version GROUP/VERSION]\n";
      return 2;
    }
  }
  // Block SIGINT/SIGTERM before any thread starts (threads inherit the mask); main waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // Where the server is and who we are: the same kubeconfig kubectl reads.
  auto config = client::LoadKubeconfig(kubeconfig);
  if (!config) return std::cerr << "kubeconfig: " << config.error().to_string() << "\n", 1;
  if (ns.empty()) ns = config->namespace_;
  auto rest = client::RestClient::Create(*config);
  if (!rest) return std::cerr << "client: " << rest.error().to_string() << "\n", 1;
  client::DynamicClient dynamic(**rest);

  // The controller: labelled originals (For, filtered by a predicate) and their copies (Owns),
  // both watched in our namespace only.
  MirrorReconciler reconciler(dynamic, configmaps);
  auto controller = runtime::Controller::Builder("configmap-mirror", dynamic)
                        .For(configmaps, {runtime::LabelSelectorPredicate(kWantsMirror)})
                        .Owns(configmaps)
                        .WithWatcherOptions([ns](runtime::WatcherOptions& o) { o.ns = ns; })
                        .Complete(reconciler);
  if (!controller) return std::cerr << "controller: " << controller.error().to_string() << "\n", 1;
  reconciler.attach(**controller);
  // Lists everything once (so the caches are complete), then starts the worker.
  if (Status s = (*controller)->start(std::chrono::seconds(30)); !s.ok())
    return std::cerr << "start: " << s.to_string() << "\n", 1;
  std::cout << "configmap-mirror: mirroring " << configmaps.resource << " (" << configmaps.api_version()
            << ") labelled mirror=true in namespace " << ns << std::endl;

  int sig = 0;
  sigwait(&stop_signals, &sig);
  (*controller)->stop();  // lets the running reconcile finish, stops the watches
  std::cout << "configmap-mirror: stopped" << std::endl;
  return 0;
}
