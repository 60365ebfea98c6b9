// EtcdClient: the gRPC side of the etcd store — one channel to the cluster, the KV, Watch and
// Maintenance stubs, unary calls with deadlines and retries, and the mapping of gRPC/etcd errors
// onto setpoint's Status. Private to src/store/etcd/ (it includes the generated gRPC headers).
//
// Thread-safe: any thread may call any method; the EtcdClient is shared (shared_ptr) by the
// store and its watch threads, so it lives as long as the last of them.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "etcdserverpb.grpc.pb.h"
#include "setpoint/common/status.h"
#include "setpoint/store/store.h"
#include "store/etcd/etcd_store.h"

namespace setpoint::store::etcd {

namespace pb = ::etcdserverpb;

// What an etcd error means for a Store caller. `what` names the operation for the message.
// Compacted → kExpired; future revision → kTimeout; NOSPACE → kUnavailable saying so;
// UNAVAILABLE/CANCELLED → kUnavailable; DEADLINE_EXCEEDED → kTimeout; too large → kTooLarge.
Status FromGrpc(const grpc::Status& status, std::string_view what);
bool IsCompacted(const grpc::Status& status);
bool IsFutureRevision(const grpc::Status& status);

// The gRPC target for a list of "host:port" endpoints: "ipv4:a:p,b:p" / "ipv6:…" for literal
// addresses, "dns:///host:port" for one name; several names are resolved here once.
Result<std::string> ChannelTarget(const std::vector<std::string>& endpoints);

class EtcdClient {
 public:
  // Creates the channel and waits (up to dial_timeout) until a member is connected.
  static Result<std::shared_ptr<EtcdClient>> Connect(const EtcdStoreOptions& options);

  // Idempotent reads: retried on UNAVAILABLE (another member, a new leader) until the deadline.
  grpc::Status range(const pb::RangeRequest& req, pb::RangeResponse* resp);
  grpc::Status status(pb::StatusResponse* resp);
  // `timeout` 0: the request timeout. The health probe asks with a short one, so that an etcd
  // that went away shows in /readyz within seconds.
  grpc::Status alarms(pb::AlarmResponse* resp, std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // Writes: never retried here, because a write whose answer was lost may have been applied.
  grpc::Status txn(const pb::TxnRequest& req, pb::TxnResponse* resp);
  grpc::Status compact(Revision revision);
  // The same Txn without blocking a thread: `done` runs once on a gRPC thread.
  void txn_async(pb::TxnRequest req, std::function<void(const grpc::Status&, pb::TxnResponse&)> done);

  // A new Watch stream on `ctx` (the caller owns both; cancel with ctx->TryCancel()).
  std::unique_ptr<grpc::ClientReaderWriter<pb::WatchRequest, pb::WatchResponse>> watch(grpc::ClientContext* ctx);

  // The current revision of the cluster (a linearizable count-only Range on one key).
  Result<Revision> current_revision();
  // Whether a Range at `revision` is still served (false: compacted). Errors other than
  // "compacted" and "future revision" are returned.
  Result<bool> revision_retained(Revision revision);

  // Waits until the channel is connected or `deadline` passes. gRPC makes progress on a
  // connection attempt only while some thread polls for it (a blocking call does; a failed
  // fail-fast call does not, and then only the 5 s backup poller would), so the watch retry loop
  // waits here instead of sleeping.
  bool wait_connected(std::chrono::steady_clock::time_point deadline);

  const std::string& key_prefix() const { return options_.key_prefix; }
  const EtcdStoreOptions& options() const { return options_; }

 private:
  EtcdClient(EtcdStoreOptions options, std::shared_ptr<grpc::Channel> channel);
  void prepare(grpc::ClientContext& ctx, std::chrono::system_clock::time_point deadline) const;
  template <typename Call>
  grpc::Status retrying(Call&& call, std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  const EtcdStoreOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::KV::Stub> kv_;
  std::unique_ptr<pb::Watch::Stub> watch_;
  std::unique_ptr<pb::Maintenance::Stub> maintenance_;
};

}  // namespace setpoint::store::etcd
