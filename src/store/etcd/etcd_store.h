// EtcdStore: the Store backend on an etcd v3 cluster, for several API servers sharing one
// replicated store (`setpoint server --store etcd://host:port[,host:port…]`).
//
// It speaks etcd's v3 gRPC API (KV, Watch, Maintenance). Keys are the server's keys
// ("/registry/…", the Kubernetes layout) behind an optional prefix; a key's revision is etcd's
// mod_revision, so resourceVersions mean the same as on a Kubernetes cluster using that etcd.
// Writes are single etcd transactions whose compares are the preconditions; watches are etcd
// watch streams that reconnect and resume on their own; compaction is etcd's, driven by this
// store (by count, by interval, or on request).
//
// Revisions are etcd's: an empty etcd is at revision 1 (etcd counts its initial state), so
// current_revision() is 1 before the first write and the first write gets 2, and
// compacted_revision() is at least 1 (there is no history before etcd's initial state). Revisions are
// consecutive per write as long as nothing else writes to the etcd cluster; other clients'
// writes (outside the key prefix) show up as gaps between this store's events.
//
// Thread-safe, like every Store. gRPC stays behind this header (only src/store/etcd/*.cc
// include it). Design, mapping of each operation, errors: docs/design/store.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "setpoint/common/status.h"
#include "setpoint/store/store.h"

namespace setpoint::store {

struct EtcdStoreOptions {
  // "host:port" of one or more members ("[::1]:2379" for IPv6). Requests are spread over them
  // (gRPC round robin); a member that is down is skipped.
  std::vector<std::string> endpoints;
  // TLS: on when `tls` is set or any file below is given. ca_file empty = the system's roots;
  // cert_file and key_file (PEM) are the client certificate etcd checks with
  // --client-cert-auth.
  bool tls = false;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // Prepended to every key in etcd ("" = keys are stored exactly as the server names them).
  // Watches cover [key_prefix, PrefixEnd(key_prefix)), the whole keyspace when empty.
  std::string key_prefix;
  // Opening fails with Unavailable if no member answers within this time.
  std::chrono::milliseconds dial_timeout{5000};
  // Each request's deadline; reads are retried within it when a member goes away.
  std::chrono::milliseconds request_timeout{10000};
  // Automatic compaction (0 turns each off). Count: keep about this many revisions (compacts
  // to current - history_max_events after writes, at most once per min_compaction_spacing).
  // Interval: like kube-apiserver's --etcd-compaction-interval, every interval compact to the
  // revision seen one interval earlier, so at least one interval of history is kept.
  std::size_t history_max_events = 0;
  std::chrono::seconds compaction_interval{0};
  std::chrono::milliseconds min_compaction_spacing{10000};
  // A broken watch stream reconnects and resumes after the last delivered revision; if it
  // cannot for this long, the watch ends with on_error(Unavailable).
  std::chrono::milliseconds watch_retry_timeout{60000};
  // Keys per Range page when listing (all pages read at one revision).
  std::size_t list_page_size = 1000;
};

// Parses a --store value: "etcd://host:port[,host:port…]" (plain, or TLS when certificate files
// are given) or "etcd+https://…" (TLS). Errors: kBadRequest naming what is wrong.
Result<EtcdStoreOptions> ParseEtcdStoreUrl(std::string_view url);

// Connects, checks that the endpoints are etcd v3 (Maintenance.Status) and finds the compacted
// revision. Errors: kUnavailable if no member answers within dial_timeout; kBadRequest for bad
// options; kInternal if a TLS file cannot be read.
Result<StorePtr> OpenEtcdStore(EtcdStoreOptions options);

}  // namespace setpoint::store
