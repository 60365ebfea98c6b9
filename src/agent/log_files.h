// Process log files: one file per Process epoch and stream (`<dir>/<epoch>.log`, stdout and
// stderr merged, the child writes to it directly with O_APPEND so it keeps running when the agent
// does not), rotated by copy-and-truncate when it grows past a limit, keeping N old files
// (`<epoch>.log.1` … `.N`), so an output flood never fills the disk. Readers tail and follow.
// Thread-safe: rotation and readers may run concurrently (a reader may miss or repeat the lines
// written during a rotation; said in docs).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "setpoint/common/status.h"

namespace setpoint::agent {

struct RotationPolicy {
  std::uint64_t max_bytes = 10 * 1024 * 1024;
  int keep = 3;
};

// If `path` is larger than policy.max_bytes: copy its newest max_bytes (widened back to a line
// start, by at most 4 KiB) to
// path.1 (shifting .1 → .2 …, dropping the
// oldest beyond keep) and truncate it to 0. Returns whether it rotated.
Result<bool> RotateIfNeeded(const std::string& path, const RotationPolicy& policy);

// The last `lines` lines of the file (all when nullopt), at most `limit_bytes` bytes from its end
// (nullopt: no limit). When the file holds fewer than `lines` lines (a rotation just emptied it),
// the tail goes on into `path.1`, `path.2` … within the same limits; with `lines` nullopt only
// the live file is read. NotFound when the file does not exist.
Result<std::string> ReadTail(const std::string& path, std::optional<std::int64_t> lines,
                             std::optional<std::int64_t> limit_bytes);

// Follows a file from an offset: read() returns what was appended since the last call (empty when
// nothing), and starts again from 0 when the file was truncated (rotation).
class LogFollower {
 public:
  LogFollower(std::string path, std::uint64_t offset);
  Result<std::string> read(std::size_t max_bytes = 64 * 1024);
  std::uint64_t offset() const { return offset_; }

 private:
  std::string path_;
  std::uint64_t offset_;
};

}  // namespace setpoint::agent
