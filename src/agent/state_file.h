// The agent's memory across its own restarts: for every Process it supervises, the OS processes
// of its running epochs (pid + start time + boot id), the ports it allocated, and its restart
// count. An agent that is killed and started again reads it to re-adopt what still runs instead
// of starting duplicates; after a reboot the boot id differs and nothing is adopted.
//
// Written atomically (temp file, fsync, rename, fsync of the directory), so a crash leaves the
// old or the new state, never half of one. Free functions; callers serialise writes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/os_process.h"
#include "setpoint/common/status.h"

namespace setpoint::agent {

struct EpochRecord {
  int epoch = 0;
  ProcessIdentity id;
  std::string config;           // the epoch config it runs (EpochConfig)
  std::int64_t generation = 0;  // metadata.generation of that spec
  std::int64_t started_unix_ms = 0;
};

struct PortRecord {
  std::string name;
  int port = 0;
  std::string address;
};

struct ProcessRecord {
  std::string uid, ns, name;
  std::vector<PortRecord> ports;
  std::vector<EpochRecord> epochs;
  int restarts = 0;
};

// A missing file is an empty state. A corrupt one is Internal (the caller logs and starts empty:
// an agent must come up).
Result<std::vector<ProcessRecord>> LoadState(const std::string& path);
Status SaveState(const std::string& path, const std::vector<ProcessRecord>& records);

}  // namespace setpoint::agent
