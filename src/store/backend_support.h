// Small rules every store backend shares: the wording of revision errors (the apiserver passes
// them through to clients, so they match Kubernetes) and prefix ranges over byte-string keys.
// Stateless; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "setpoint/common/status.h"
#include "setpoint/store/store.h"

namespace setpoint::store {

inline Status TooOldRevision(Revision at, Revision compacted) {
  return Status::Expired("too old resource version: " + std::to_string(at) + " (" + std::to_string(compacted) + ")");
}

inline Status FutureRevision(Revision at, Revision current) {
  return Status::Timeout("Too large resource version: " + std::to_string(at) +
                         ", current resource version: " + std::to_string(current));
}

inline Status KeyExists(const std::string& key) { return Status::AlreadyExists("key already exists: " + key); }

inline Status KeyNotFound(const std::string& key) { return Status::NotFound("key not found: " + key); }

inline Status RevisionMismatch(const std::string& key, Revision expected, Revision actual) {
  return Status::Conflict("revision mismatch for " + key + ": expected " + std::to_string(expected) + ", current " +
                          std::to_string(actual));
}

inline Status StoreClosed() { return Status::Unavailable("store is closed"); }

// The smallest key greater than every key that starts with `prefix`, or nullopt when there is
// none (empty prefix, or a prefix of only 0xff bytes). Keys compare as unsigned bytes.
inline std::optional<std::string> PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last != 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::nullopt;
}

// Counts one commit of `writes` writes that took `micros` into a backend's CommitStats.
// Whether a write's error is the backend's own (counted in CommitStats::failed_writes, logged)
// rather than a precondition the caller's request did not meet.
inline bool IsBackendFailure(const Status& s) {
  return s.code() == StatusCode::kInternal || s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kTimeout;
}

inline void RecordCommit(CommitStats& stats, std::uint64_t writes, std::uint64_t micros) {
  stats.commits++;
  stats.writes += writes;
  stats.commit_micros_sum += micros;
  for (std::size_t i = 0; i < std::size(kCommitBucketsMicros); ++i) {
    if (micros <= kCommitBucketsMicros[i]) {
      stats.commit_micros_buckets[i]++;
      break;
    }
  }
}

// A write with a null value stores the empty string, so readers never see a null Bytes.
inline Bytes NonNull(Bytes value) { return value ? std::move(value) : MakeBytes(std::string()); }

}  // namespace setpoint::store
