#include "store/etcd/etcd_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

namespace setpoint::store::etcd {
namespace {

using SystemTime = std::chrono::system_clock::time_point;

bool Contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

struct HostPort {
  std::string host;  // without brackets
  std::string port;
};

Result<HostPort> SplitEndpoint(const std::string& endpoint) {
  std::string host, port;
  if (!endpoint.empty() && endpoint.front() == '[') {
    auto close = endpoint.find(']');
    if (close == std::string::npos || close + 1 >= endpoint.size() || endpoint[close + 1] != ':')
      return Err(Status::BadRequest("etcd endpoint \"" + endpoint + "\" must be [ADDR]:PORT"));
    host = endpoint.substr(1, close - 1);
    port = endpoint.substr(close + 2);
  } else {
    auto colon = endpoint.rfind(':');
    if (colon == std::string::npos || endpoint.find(':') != colon)
      return Err(Status::BadRequest("etcd endpoint \"" + endpoint + "\" must be HOST:PORT"));
    host = endpoint.substr(0, colon);
    port = endpoint.substr(colon + 1);
  }
  if (host.empty() || port.empty() || !std::all_of(port.begin(), port.end(), ::isdigit) || port.size() > 5 ||
      std::stoi(port) > 65535)
    return Err(Status::BadRequest("etcd endpoint \"" + endpoint + "\" must be HOST:PORT"));
  return HostPort{host, port};
}

bool IsIPv4(const std::string& host) {
  in_addr a{};
  return ::inet_pton(AF_INET, host.c_str(), &a) == 1;
}

bool IsIPv6(const std::string& host) {
  in6_addr a{};
  return ::inet_pton(AF_INET6, host.c_str(), &a) == 1;
}

Result<std::string> ReadFile(const std::string& path, const char* what) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Err(Status::Internal(std::string("cannot read the etcd ") + what + " file " + path));
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

bool IsCompacted(const grpc::Status& status) {
  return Contains(status.error_message(), "required revision has been compacted");
}

bool IsFutureRevision(const grpc::Status& status) {
  return Contains(status.error_message(), "required revision is a future revision");
}

Status FromGrpc(const grpc::Status& status, std::string_view what) {
  const std::string& msg = status.error_message();
  std::string op(what);
  if (status.ok()) return Status::Ok();
  if (IsCompacted(status)) return Status::Expired("etcd " + op + ": " + msg);
  if (IsFutureRevision(status)) return Status::Timeout("etcd " + op + ": " + msg);
  if (Contains(msg, "database space exceeded"))
    return Status::Unavailable("etcd is out of space (NOSPACE alarm: " + msg +
                               "); compact and defragment etcd, then disarm the alarm");
  if (Contains(msg, "request is too large")) return Status::TooLarge("etcd " + op + ": " + msg);
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::ABORTED:
      return Status::Unavailable("etcd " + op + ": " + msg);
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status::Timeout("etcd " + op + " timed out (a write may or may not have been applied): " + msg);
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Status::BadRequest("etcd " + op + ": " + msg);
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return Status::TooManyRequests("etcd " + op + ": " + msg);
    case grpc::StatusCode::PERMISSION_DENIED:
      return Status::Forbidden("etcd " + op + ": " + msg);
    case grpc::StatusCode::UNAUTHENTICATED:
      return Status::Unauthorized("etcd " + op + ": " + msg);
    default:
      return Status::Internal("etcd " + op + ": " + msg);
  }
}

Result<std::string> ChannelTarget(const std::vector<std::string>& endpoints) {
  if (endpoints.empty()) return Err(Status::BadRequest("no etcd endpoints given"));
  std::vector<HostPort> parsed;
  for (const std::string& e : endpoints) {
    auto hp = SplitEndpoint(e);
    if (!hp) return Err(hp.error());
    parsed.push_back(*hp);
  }
  bool all_v4 = std::all_of(parsed.begin(), parsed.end(), [](const HostPort& h) { return IsIPv4(h.host); });
  bool all_v6 = std::all_of(parsed.begin(), parsed.end(), [](const HostPort& h) { return IsIPv6(h.host); });
  if (parsed.size() == 1 && !all_v4 && !all_v6) return "dns:///" + parsed[0].host + ":" + parsed[0].port;
  if (!all_v4 && !all_v6) {
    // Several names: resolve each once (gRPC's sockaddr lists need addresses). IPv4 wins when
    // both families are present, since one target cannot mix them.
    std::vector<HostPort> v4, v6;
    for (const HostPort& h : parsed) {
      if (IsIPv4(h.host)) {
        v4.push_back(h);
        continue;
      }
      if (IsIPv6(h.host)) {
        v6.push_back(h);
        continue;
      }
      addrinfo hints{};
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* res = nullptr;
      if (int rc = ::getaddrinfo(h.host.c_str(), h.port.c_str(), &hints, &res); rc != 0)
        return Err(Status::Unavailable("cannot resolve etcd endpoint " + h.host + ": " + ::gai_strerror(rc)));
      for (addrinfo* a = res; a; a = a->ai_next) {
        char buf[INET6_ADDRSTRLEN] = {};
        if (a->ai_family == AF_INET) {
          ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr, buf, sizeof buf);
          v4.push_back({buf, h.port});
        } else if (a->ai_family == AF_INET6) {
          ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr, buf, sizeof buf);
          v6.push_back({buf, h.port});
        }
      }
      ::freeaddrinfo(res);
    }
    parsed = v4.empty() ? v6 : v4;
    all_v4 = !v4.empty();
  }
  std::string target = all_v4 ? "ipv4:" : "ipv6:";
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    if (i) target += ",";
    target += all_v4 ? parsed[i].host + ":" + parsed[i].port : "[" + parsed[i].host + "]:" + parsed[i].port;
  }
  return target;
}

Result<std::shared_ptr<EtcdClient>> EtcdClient::Connect(const EtcdStoreOptions& options) {
  auto target = ChannelTarget(options.endpoints);
  if (!target) return Err(target.error());
  auto first = SplitEndpoint(options.endpoints.front());
  if (!first) return Err(first.error());

  grpc::ChannelArguments args;
  args.SetLoadBalancingPolicyName("round_robin");
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  // Notice a dead connection (a member gone without a FIN) within ~40 s. etcd refuses pings
  // more often than every 5 s and pings without calls, so neither is done.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  // Reconnect to a restarted member quickly; the default backoff grows to 2 minutes.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  // A list of addresses has no name of its own: present the first endpoint's.
  args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, first->host);

  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (options.tls || !options.ca_file.empty() || !options.cert_file.empty() || !options.key_file.empty()) {
    if (options.cert_file.empty() != options.key_file.empty())
      return Err(Status::BadRequest("an etcd client certificate needs both the certificate and the key file"));
    grpc::SslCredentialsOptions ssl;
    if (!options.ca_file.empty()) {
      auto ca = ReadFile(options.ca_file, "CA");
      if (!ca) return Err(ca.error());
      ssl.pem_root_certs = *ca;
    }
    if (!options.cert_file.empty()) {
      auto cert = ReadFile(options.cert_file, "client certificate");
      if (!cert) return Err(cert.error());
      auto key = ReadFile(options.key_file, "client key");
      if (!key) return Err(key.error());
      ssl.pem_cert_chain = *cert;
      ssl.pem_private_key = *key;
    }
    creds = grpc::SslCredentials(ssl);
    args.SetSslTargetNameOverride(first->host);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  auto channel = grpc::CreateCustomChannel(*target, creds, args);
  auto deadline = std::chrono::system_clock::now() + options.dial_timeout;
  if (!channel->WaitForConnected(deadline)) {
    std::string list;
    for (const auto& e : options.endpoints) list += (list.empty() ? "" : ",") + e;
    return Err(Status::Unavailable("cannot connect to etcd at " + list + " within " +
                                   std::to_string(options.dial_timeout.count()) + " ms"));
  }
  return std::shared_ptr<EtcdClient>(new EtcdClient(options, std::move(channel)));
}

EtcdClient::EtcdClient(EtcdStoreOptions options, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      kv_(pb::KV::NewStub(channel_)),
      watch_(pb::Watch::NewStub(channel_)),
      maintenance_(pb::Maintenance::NewStub(channel_)) {}

void EtcdClient::prepare(grpc::ClientContext& ctx, SystemTime deadline) const {
  ctx.set_deadline(deadline);
  // Wait for a member to be reachable (up to the deadline) rather than failing at once: nothing
  // has been sent while waiting, so this is safe for writes too.
  ctx.set_wait_for_ready(true);
}

template <typename Call>
grpc::Status EtcdClient::retrying(Call&& call, std::chrono::milliseconds timeout) {
  SystemTime deadline = std::chrono::system_clock::now() + (timeout.count() > 0 ? timeout : options_.request_timeout);
  auto backoff = std::chrono::milliseconds(20);
  for (;;) {
    grpc::ClientContext ctx;
    prepare(ctx, deadline);
    grpc::Status st = call(ctx);
    if (st.error_code() != grpc::StatusCode::UNAVAILABLE) return st;
    if (std::chrono::system_clock::now() + backoff >= deadline) return st;
    std::this_thread::sleep_for(backoff);  // between retries of a failed read, not a sync point
    backoff = std::min(backoff * 2, std::chrono::milliseconds(500));
  }
}

grpc::Status EtcdClient::range(const pb::RangeRequest& req, pb::RangeResponse* resp) {
  return retrying([&](grpc::ClientContext& ctx) { return kv_->Range(&ctx, req, resp); });
}

grpc::Status EtcdClient::status(pb::StatusResponse* resp) {
  return retrying([&](grpc::ClientContext& ctx) { return maintenance_->Status(&ctx, pb::StatusRequest(), resp); });
}

grpc::Status EtcdClient::alarms(pb::AlarmResponse* resp, std::chrono::milliseconds timeout) {
  pb::AlarmRequest req;
  req.set_action(pb::AlarmRequest::GET);
  return retrying([&](grpc::ClientContext& ctx) { return maintenance_->Alarm(&ctx, req, resp); }, timeout);
}

grpc::Status EtcdClient::txn(const pb::TxnRequest& req, pb::TxnResponse* resp) {
  grpc::ClientContext ctx;
  prepare(ctx, std::chrono::system_clock::now() + options_.request_timeout);
  return kv_->Txn(&ctx, req, resp);
}

grpc::Status EtcdClient::compact(Revision revision) {
  pb::CompactionRequest req;
  req.set_revision(revision);
  pb::CompactionResponse resp;
  grpc::ClientContext ctx;
  prepare(ctx, std::chrono::system_clock::now() + options_.request_timeout);
  return kv_->Compact(&ctx, req, &resp);
}

void EtcdClient::txn_async(pb::TxnRequest req, std::function<void(const grpc::Status&, pb::TxnResponse&)> done) {
  struct Call {
    grpc::ClientContext ctx;
    pb::TxnRequest req;
    pb::TxnResponse resp;
    std::function<void(const grpc::Status&, pb::TxnResponse&)> done;
  };
  auto call = std::make_shared<Call>();
  call->req = std::move(req);
  call->done = std::move(done);
  prepare(call->ctx, std::chrono::system_clock::now() + options_.request_timeout);
  kv_->async()->Txn(&call->ctx, &call->req, &call->resp, [call](grpc::Status st) { call->done(st, call->resp); });
}

std::unique_ptr<grpc::ClientReaderWriter<pb::WatchRequest, pb::WatchResponse>> EtcdClient::watch(
    grpc::ClientContext* ctx) {
  // Not wait_for_ready: with no member reachable the stream fails at once, and the watcher's
  // own retry loop decides how long to keep trying.
  // etcd ends the streams of a member that lost its leader, so a partitioned member cannot
  // keep a watch silently stale.
  ctx->AddMetadata("hasleader", "true");
  return watch_->Watch(ctx);
}

bool EtcdClient::wait_connected(std::chrono::steady_clock::time_point deadline) {
  auto left = deadline - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) return channel_->GetState(true) == GRPC_CHANNEL_READY;
  return channel_->WaitForConnected(std::chrono::system_clock::now() +
                                    std::chrono::duration_cast<std::chrono::system_clock::duration>(left));
}

Result<Revision> EtcdClient::current_revision() {
  pb::RangeRequest req;
  req.set_key(options_.key_prefix + std::string(1, '\0'));
  req.set_count_only(true);
  pb::RangeResponse resp;
  grpc::Status st = range(req, &resp);
  if (!st.ok()) return Err(FromGrpc(st, "range"));
  return resp.header().revision();
}

Result<bool> EtcdClient::revision_retained(Revision revision) {
  pb::RangeRequest req;
  req.set_key(options_.key_prefix + std::string(1, '\0'));
  req.set_count_only(true);
  req.set_revision(revision);
  pb::RangeResponse resp;
  grpc::Status st = range(req, &resp);
  if (st.ok() || IsFutureRevision(st)) return true;
  if (IsCompacted(st)) return false;
  return Err(FromGrpc(st, "range"));
}

}  // namespace setpoint::store::etcd
