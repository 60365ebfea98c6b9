#include "controllers/process_status.h"

#include "setpoint/common/json.h"

namespace setpoint::controllers {

namespace json = boost::json;

std::string_view ProcessPhase(const json::object& process) {
  const json::object* status = GetObject(process, "status");
  return status ? GetStringOr(*status, "phase", "") : std::string_view();
}

bool PhaseIsFinished(std::string_view phase) { return phase == "Succeeded" || phase == "Failed" || phase == "Lost"; }

std::string_view AgentNameOf(const json::object& process) {
  const json::object* spec = GetObject(process, "spec");
  return spec ? GetStringOr(*spec, "agentName", "") : std::string_view();
}

std::optional<WallTime> ParseMicroTime(std::string_view s) {
  auto t = ParseRfc3339(s);  // whole seconds
  if (!t || s.size() < 20 || s[19] != '.') return t;
  std::int64_t nanos = 0;
  int digits = 0;
  for (std::size_t i = 20; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i)
    if (digits < 9) {
      nanos = nanos * 10 + (s[i] - '0');
      ++digits;
    }
  for (; digits < 9; ++digits) nanos *= 10;
  return *t + std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds(nanos));
}

}  // namespace setpoint::controllers
