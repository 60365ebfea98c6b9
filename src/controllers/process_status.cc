#include "controllers/process_status.h"

#include "setpoint/common/json.h"
#include "setpoint/runtime/cache.h"
#include "setpoint/runtime/conditions.h"

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

bool AgentReady(const json::object& agent) {
  const json::object* status = GetObject(agent, "status");
  const json::array* conditions = status ? GetArray(*status, "conditions") : nullptr;
  return conditions && runtime::is_true(*conditions, "Ready");
}

json::array& MutableConditions(json::object& obj) {
  json::object& status = EnsureObject(obj, "status");
  json::value& c = status["conditions"];
  if (!c.is_array()) c.emplace_array();
  return c.as_array();
}

Status WriteStatus(runtime::CachedClient& client, const client::GroupVersionResource& gvr, const json::object& obj,
                   const std::function<bool(json::object&)>& mutate) {
  const std::string ns(runtime::ObjectNamespace(obj)), name(runtime::ObjectName(obj));
  json::object current = obj;
  for (int attempt = 0;; ++attempt) {
    json::object updated = current;
    if (!mutate(updated)) return Status::Ok();
    auto r = client.update_status(gvr, ns, updated);
    if (r) return Status::Ok();
    if (r.error().code() == StatusCode::kNotFound) return Status::Ok();
    if (r.error().code() != StatusCode::kConflict || attempt >= 3) return r.error();
    auto fresh = client.uncached().get(gvr, ns, name);
    if (!fresh) return fresh.error().code() == StatusCode::kNotFound ? Status::Ok() : fresh.error();
    current = std::move(*fresh);
  }
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
