#include "setpoint/runtime/leader_election.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <thread>
#include <utility>

#include <boost/json.hpp>

#include "setpoint/common/json.h"

namespace setpoint::runtime {
namespace {

namespace json = boost::json;

// Overwrites the fields this elector owns; other spec fields (preferredHolder,
// strategy) stay.
void WriteRecord(json::object& lease, const LeaderElectionRecord& r) {
  json::object& spec = EnsureObject(lease, "spec");
  if (r.holder_identity.empty()) {
    spec.erase("holderIdentity");
  } else {
    spec["holderIdentity"] = r.holder_identity;
  }
  spec["leaseDurationSeconds"] = r.lease_duration_seconds;
  spec["acquireTime"] = r.acquire_time;
  spec["renewTime"] = r.renew_time;
  spec["leaseTransitions"] = r.lease_transitions;
}

}  // namespace

LeaderElectionRecord LeaseRecord(const json::object& lease) {
  LeaderElectionRecord r;
  const json::object* spec = GetObject(lease, "spec");
  if (spec == nullptr) return r;
  r.holder_identity = std::string(GetStringOr(*spec, "holderIdentity", ""));
  r.lease_duration_seconds = GetInt(*spec, "leaseDurationSeconds").value_or(0);
  r.acquire_time = std::string(GetStringOr(*spec, "acquireTime", ""));
  r.renew_time = std::string(GetStringOr(*spec, "renewTime", ""));
  r.lease_transitions = GetInt(*spec, "leaseTransitions").value_or(0);
  return r;
}

std::string FormatMicroTime(WallTime t) {
  const std::int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::int64_t secs = us / 1000000;
  std::int64_t frac = us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(frac));
  return buf;
}

Result<std::unique_ptr<LeaderElector>> LeaderElector::Create(client::DynamicClient& client,
                                                             LeaderElectionConfig config) {
  if (config.lease_name.empty() || config.lease_namespace.empty()) {
    return Err(Status::BadRequest("leader election: lease namespace and name are required"));
  }
  if (config.identity.empty()) return Err(Status::BadRequest("leader election: identity is required"));
  // client-go's constructor rule: LeaseDuration > RenewDeadline >
  // JitterFactor(1.2) * RetryPeriod.
  if (config.retry_period <= Duration::zero()) {
    return Err(Status::BadRequest("leader election: retry_period must be positive"));
  }
  if (config.renew_deadline * 10 <= config.retry_period * 12) {
    return Err(Status::BadRequest("leader election: renew_deadline must exceed 1.2 * retry_period"));
  }
  if (config.lease_duration <= config.renew_deadline) {
    return Err(Status::BadRequest("leader election: lease_duration must exceed renew_deadline"));
  }
  if (config.lease_duration < std::chrono::seconds(1)) {
    return Err(Status::BadRequest("leader election: lease_duration must be at least 1 s"));
  }
  if (!config.env) config.env = DefaultEnv();
  return std::unique_ptr<LeaderElector>(new LeaderElector(client, std::move(config)));
}

LeaderElector::LeaderElector(client::DynamicClient& client, LeaderElectionConfig config)
    : client_(client), config_(std::move(config)) {}

bool LeaderElector::is_leader() const {
  std::lock_guard lock(mu_);
  return leading_ && config_.env->steady()->now() < last_renew_ + config_.renew_deadline;
}

std::string LeaderElector::leader() const {
  std::lock_guard lock(mu_);
  return leader_;
}

Duration LeaderElector::jittered_retry() {
  // wait.JitterUntil with factor 1.2: retry_period + [0, 1.2) * retry_period.
  return config_.retry_period +
         std::chrono::duration_cast<Duration>(config_.retry_period * (1.2 * config_.env->random()));
}

bool LeaderElector::wait_until(SteadyTime deadline, std::stop_token stop) {
  // Declared before the lock so that it is destroyed after the lock is
  // released: its callback takes mu_, and destroying it waits for a callback
  // running on another thread.
  std::stop_callback on_stop(stop, [this] {
    std::lock_guard lock(mu_);
    cv_.notify_all();
  });
  std::unique_lock lock(mu_);
  while (!stop.stop_requested() && config_.env->steady()->now() < deadline) {
    config_.env->steady()->wait_until(cv_, lock, deadline);
  }
  return !stop.stop_requested();
}

void LeaderElector::observe(const LeaderElectionRecord& record) {
  observed_any_ = true;
  observed_record_ = record;
  observed_time_ = config_.env->steady()->now();
  {
    std::lock_guard lock(mu_);
    leader_ = record.holder_identity;
  }
  if (!record.holder_identity.empty() && record.holder_identity != reported_leader_) {
    reported_leader_ = record.holder_identity;
    if (config_.callbacks.on_new_leader) config_.callbacks.on_new_leader(reported_leader_);
  }
}

LeaderElector::Attempt LeaderElector::try_acquire_or_renew() {
  Status error;
  const Attempt a = attempt(error);
  const bool race = error.code() == StatusCode::kConflict || error.code() == StatusCode::kAlreadyExists;
  std::lock_guard lock(mu_);
  last_error_ = a == Attempt::kFailed && !race ? error : Status::Ok();
  return a;
}

Status LeaderElector::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

LeaderElector::Attempt LeaderElector::attempt(Status& error) {
  const SteadyTime started = config_.env->steady()->now();
  const std::string now_text = FormatMicroTime(config_.env->wall()->now());
  const auto duration_seconds = static_cast<std::int64_t>(
      (config_.lease_duration + std::chrono::seconds(1) - Duration(1)) / std::chrono::seconds(1));
  LeaderElectionRecord next{config_.identity, duration_seconds, now_text, now_text, 0};

  auto got = client_.get(kLeasesResource, config_.lease_namespace, config_.lease_name);
  if (!got) {
    if (got.error().code() != StatusCode::kNotFound) {
      error = got.error();
      return Attempt::kFailed;
    }
    json::object lease{{"apiVersion", kLeasesResource.api_version()},
                       {"kind", "Lease"},
                       {"metadata", {{"name", config_.lease_name}, {"namespace", config_.lease_namespace}}}};
    WriteRecord(lease, next);
    auto created = client_.create(kLeasesResource, config_.lease_namespace, lease);
    if (!created) {  // AlreadyExists: another candidate won the race
      error = created.error();
      return Attempt::kFailed;
    }
    observed_object_ = std::move(*created);
    observe(next);
    std::lock_guard lock(mu_);
    last_renew_ = started;
    return Attempt::kAcquired;
  }

  LeaderElectionRecord old = LeaseRecord(*got);
  // The expiry clock restarts on every change we see: the holder's renewTime is
  // its clock's reading and is never compared with ours.
  if (!observed_any_ || old != observed_record_) {
    observe(old);
  }
  const bool held_by_me = old.holder_identity == config_.identity;
  if (!old.holder_identity.empty() && !held_by_me &&
      observed_time_ + std::chrono::seconds(old.lease_duration_seconds) > started) {
    return Attempt::kHeldByOther;
  }
  if (held_by_me) {
    next.acquire_time = old.acquire_time;
    next.lease_transitions = old.lease_transitions;
  } else {
    next.lease_transitions = old.lease_transitions + 1;
  }
  json::object lease = std::move(*got);
  WriteRecord(lease, next);  // metadata.resourceVersion stays: the update is conditional
  auto updated = client_.update(kLeasesResource, config_.lease_namespace, lease);
  if (!updated) {  // Conflict: someone else wrote; re-read next time
    error = updated.error();
    return Attempt::kFailed;
  }
  observed_object_ = std::move(*updated);
  observe(next);
  std::lock_guard lock(mu_);
  last_renew_ = started;
  return Attempt::kAcquired;
}

void LeaderElector::release() {
  if (observed_record_.holder_identity != config_.identity || observed_object_.empty()) return;
  const std::string now_text = FormatMicroTime(config_.env->wall()->now());
  LeaderElectionRecord released{"", 1, now_text, now_text, observed_record_.lease_transitions};
  // Conditional on the version we last wrote: if someone else has written
  // since, it is theirs.
  json::object lease = observed_object_;
  WriteRecord(lease, released);
  auto updated = client_.update(kLeasesResource, config_.lease_namespace, lease);
  if (!updated) return;
  observed_object_ = std::move(*updated);
  observe(released);
}

void LeaderElector::run(std::stop_token stop) {
  const MonotonicClockPtr steady = config_.env->steady();
  const MonotonicClock& clock = *steady;
  const std::uint64_t wake = clock.subscribe([this] {
    std::lock_guard lock(mu_);
    cv_.notify_all();
  });
  struct Unsubscribe {
    const MonotonicClock& clock;
    std::uint64_t token;
    ~Unsubscribe() { clock.unsubscribe(token); }
  } unsubscribe{clock, wake};

  // Acquire.
  for (;;) {
    if (stop.stop_requested()) return;
    if (try_acquire_or_renew() == Attempt::kAcquired) break;
    if (!wait_until(clock.now() + jittered_retry(), stop)) return;
  }
  SteadyTime last_ok;
  {
    std::lock_guard lock(mu_);
    leading_ = true;
    last_ok = last_renew_;
  }
  std::stop_source leading;
  std::jthread work;
  if (config_.callbacks.on_started_leading) {
    work = std::jthread([fn = config_.callbacks.on_started_leading, token = leading.get_token()] { fn(token); });
  }

  // Renew until cancelled, until renew_deadline passes without a successful
  // renewal, or until the Lease names someone else.
  bool cancelled = false;
  for (;;) {
    const SteadyTime deadline = last_ok + config_.renew_deadline;
    if (!wait_until(std::min(clock.now() + config_.retry_period, deadline), stop)) {
      cancelled = true;
      break;
    }
    if (clock.now() >= deadline) break;
    const Attempt a = try_acquire_or_renew();
    if (a == Attempt::kHeldByOther) break;
    if (a == Attempt::kAcquired) {
      std::lock_guard lock(mu_);
      last_ok = last_renew_;
    }
  }

  {
    std::lock_guard lock(mu_);
    leading_ = false;
  }
  leading.request_stop();
  if (work.joinable()) work.join();
  if (config_.callbacks.on_stopped_leading) config_.callbacks.on_stopped_leading();
  if (cancelled && config_.release_on_cancel) release();
}

}  // namespace setpoint::runtime
