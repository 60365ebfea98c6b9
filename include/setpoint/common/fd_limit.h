// The process's open-file limit. A server holds a descriptor per connection, watch, file and
// store handle, and the common soft limit (1024) is far below what the kernel allows; Go's
// runtime raises it at start, and so do setpoint's servers.
#pragma once

#include <cstdint>

namespace setpoint {

struct FdLimit {
  std::uint64_t soft = 0;
  std::uint64_t hard = 0;
  bool raised = false;  // the soft limit was below the hard one and now equals it
};

// Raises the soft RLIMIT_NOFILE to the hard limit (capped by the kernel's nr_open); returns the
// limits in effect afterwards. Never lowers anything; on failure returns the limits unchanged.
FdLimit RaiseOpenFileLimit();
// The limits in effect, unchanged.
FdLimit CurrentOpenFileLimit();

}  // namespace setpoint
