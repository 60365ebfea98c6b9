#include "setpoint/common/fd_limit.h"

#include <sys/resource.h>

#include <fstream>

namespace setpoint {

namespace {
std::uint64_t NrOpen() {
  std::ifstream f("/proc/sys/fs/nr_open");
  std::uint64_t v = 0;
  if (f >> v && v > 0) return v;
  return RLIM_INFINITY;
}
}  // namespace

FdLimit CurrentOpenFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return {};
  return {static_cast<std::uint64_t>(rl.rlim_cur), static_cast<std::uint64_t>(rl.rlim_max), false};
}

FdLimit RaiseOpenFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return {};
  rlim_t want = rl.rlim_max;
  // An unlimited hard limit cannot be the soft one: setrlimit refuses anything above nr_open.
  if (want == RLIM_INFINITY || want > NrOpen()) want = static_cast<rlim_t>(NrOpen());
  if (rl.rlim_cur >= want)
    return {static_cast<std::uint64_t>(rl.rlim_cur), static_cast<std::uint64_t>(rl.rlim_max), false};
  rlimit next = rl;
  next.rlim_cur = want;
  if (setrlimit(RLIMIT_NOFILE, &next) != 0)
    return {static_cast<std::uint64_t>(rl.rlim_cur), static_cast<std::uint64_t>(rl.rlim_max), false};
  return {static_cast<std::uint64_t>(want), static_cast<std::uint64_t>(rl.rlim_max), true};
}

}  // namespace setpoint
