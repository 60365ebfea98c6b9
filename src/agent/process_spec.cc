#include "agent/process_spec.h"

#include <algorithm>
#include <cctype>

#include <boost/json.hpp>

#include "agent/os_process.h"
#include "setpoint/common/json.h"

namespace setpoint::agent {

namespace json = boost::json;

namespace {

Status Invalid(std::string field, std::string message) { return Status::Invalid(field + ": " + message); }

int IntOr(const json::object& o, std::string_view key, int fallback) {
  auto v = GetInt(o, key);
  return v ? static_cast<int>(*v) : fallback;
}

Result<std::vector<std::string>> Strings(const json::object& o, std::string_view key, const std::string& field) {
  std::vector<std::string> out;
  const json::array* a = GetArray(o, key);
  if (!a) return out;
  for (const auto& v : *a) {
    if (!v.is_string()) return Err(Invalid(field, "must be a list of strings"));
    out.emplace_back(v.get_string());
  }
  return out;
}

std::string PortValue(const json::value& v) {
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (v.is_string()) return std::string(v.get_string());
  return "";
}

Result<std::optional<ProbeConfig>> ParseProbe(const json::object& spec, std::string_view key) {
  const json::object* p = GetObject(spec, key);
  if (!p) return std::optional<ProbeConfig>();
  const std::string field = "spec." + std::string(key);
  ProbeConfig c;
  int kinds = 0;
  if (const json::object* e = GetObject(*p, "exec")) {
    ++kinds;
    c.kind = ProbeSpec::Kind::kExec;
    auto cmd = Strings(*e, "command", field + ".exec.command");
    if (!cmd) return Err(cmd.error());
    if (cmd->empty()) return Err(Invalid(field + ".exec.command", "Required value"));
    c.command = std::move(*cmd);
  }
  if (const json::object* t = GetObject(*p, "tcpSocket")) {
    ++kinds;
    c.kind = ProbeSpec::Kind::kTcp;
    c.host = std::string(GetStringOr(*t, "host", "127.0.0.1"));
    if (auto it = t->find("port"); it != t->end()) c.port = PortValue(it->value());
    if (c.port.empty()) return Err(Invalid(field + ".tcpSocket.port", "Required value"));
  }
  if (const json::object* h = GetObject(*p, "httpGet")) {
    ++kinds;
    c.kind = ProbeSpec::Kind::kHttpGet;
    c.host = std::string(GetStringOr(*h, "host", "127.0.0.1"));
    c.path = std::string(GetStringOr(*h, "path", "/"));
    if (auto it = h->find("port"); it != h->end()) c.port = PortValue(it->value());
    if (c.port.empty()) return Err(Invalid(field + ".httpGet.port", "Required value"));
    if (const json::array* hs = GetArray(*h, "httpHeaders"))
      for (const auto& v : *hs)
        if (v.is_object())
          c.headers.emplace_back(GetStringOr(v.get_object(), "name", ""), GetStringOr(v.get_object(), "value", ""));
  }
  if (kinds != 1) return Err(Invalid(field, "must specify exactly one of exec, tcpSocket or httpGet"));
  c.initial_delay_seconds = IntOr(*p, "initialDelaySeconds", 0);
  c.period_seconds = std::max(1, IntOr(*p, "periodSeconds", 10));
  c.timeout_seconds = std::max(1, IntOr(*p, "timeoutSeconds", 1));
  c.success_threshold = std::max(1, IntOr(*p, "successThreshold", 1));
  c.failure_threshold = std::max(1, IntOr(*p, "failureThreshold", 3));
  return std::optional<ProbeConfig>(std::move(c));
}

void Canonical(const json::value& v, std::string& out) {
  if (v.is_object()) {
    std::vector<std::pair<std::string_view, const json::value*>> items;
    for (const auto& kv : v.get_object()) items.emplace_back(kv.key(), &kv.value());
    std::sort(items.begin(), items.end(), [](auto& a, auto& b) { return a.first < b.first; });
    out.push_back('{');
    bool first = true;
    for (const auto& [k, val] : items) {
      if (!first) out.push_back(',');
      first = false;
      out += json::serialize(json::value(json::string(k)));
      out.push_back(':');
      Canonical(*val, out);
    }
    out.push_back('}');
  } else if (v.is_array()) {
    out.push_back('[');
    bool first = true;
    for (const auto& e : v.get_array()) {
      if (!first) out.push_back(',');
      first = false;
      Canonical(e, out);
    }
    out.push_back(']');
  } else {
    out += json::serialize(v);
  }
}

// "metadata.labels['k']" → "k" when `path` starts with `prefix` ("metadata.labels").
std::optional<std::string> MapKey(std::string_view path, std::string_view prefix) {
  if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view rest = path.substr(prefix.size());
  if (rest.size() < 4 || rest.front() != '[' || rest.back() != ']') return std::nullopt;
  rest = rest.substr(1, rest.size() - 2);
  if (rest.size() < 2 || (rest.front() != '\'' && rest.front() != '"') || rest.back() != rest.front())
    return std::nullopt;
  return std::string(rest.substr(1, rest.size() - 2));
}

}  // namespace

std::string PortConfig::env_name() const {
  std::string out = "PORT_";
  for (char c : name) out.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

RetryPolicy ProcessConfig::retry_policy() const {
  RetryPolicy p;
  p.max_retries = max_retries;
  p.initial_interval = std::chrono::milliseconds(initial_backoff_ms);
  p.restart = restart;
  return p;
}

Result<ProcessConfig> ParseProcessSpec(const json::object& spec) {
  ProcessConfig c;
  auto command = Strings(spec, "command", "spec.command");
  if (!command) return Err(command.error());
  if (command->empty() || (*command)[0].empty()) return Err(Invalid("spec.command", "Required value"));
  c.command = std::move(*command);
  auto args = Strings(spec, "args", "spec.args");
  if (!args) return Err(args.error());
  c.args = std::move(*args);
  if (const json::array* env = GetArray(spec, "env")) {
    for (std::size_t i = 0; i < env->size(); ++i) {
      if (!(*env)[i].is_object()) return Err(Invalid("spec.env[" + std::to_string(i) + "]", "must be an object"));
      const json::object& e = (*env)[i].get_object();
      EnvVar v;
      v.name = std::string(GetStringOr(e, "name", ""));
      if (v.name.empty()) return Err(Invalid("spec.env[" + std::to_string(i) + "].name", "Required value"));
      v.value = std::string(GetStringOr(e, "value", ""));
      if (const json::object* from = GetObject(e, "valueFrom"))
        if (const json::object* ref = GetObject(*from, "fieldRef"))
          v.field_path = std::string(GetStringOr(*ref, "fieldPath", ""));
      c.env.push_back(std::move(v));
    }
  }
  c.working_dir = std::string(GetStringOr(spec, "workingDir", ""));
  if (const json::array* ports = GetArray(spec, "ports")) {
    for (std::size_t i = 0; i < ports->size(); ++i) {
      const std::string field = "spec.ports[" + std::to_string(i) + "]";
      if (!(*ports)[i].is_object()) return Err(Invalid(field, "must be an object"));
      const json::object& p = (*ports)[i].get_object();
      PortConfig pc;
      pc.name = std::string(GetStringOr(p, "name", ""));
      if (pc.name.empty()) return Err(Invalid(field + ".name", "Required value"));
      pc.port = IntOr(p, "port", 0);
      if (pc.port < 0 || pc.port > 65535) return Err(Invalid(field + ".port", "must be between 0 and 65535"));
      pc.address = std::string(GetStringOr(p, "address", "127.0.0.1"));
      if (auto it = p.find("passSocket"); it != p.end() && it->value().is_bool())
        pc.pass_socket = it->value().get_bool();
      if (auto it = p.find("indexed"); it != p.end() && it->value().is_bool()) pc.indexed = it->value().get_bool();
      for (const auto& other : c.ports)
        if (other.name == pc.name) return Err(Invalid(field + ".name", "Duplicate value: \"" + pc.name + "\""));
      c.ports.push_back(std::move(pc));
    }
  }
  std::string_view policy = GetStringOr(spec, "restartPolicy", "Always");
  if (policy == "Always")
    c.restart = RestartPolicy::kAlways;
  else if (policy == "OnFailure")
    c.restart = RestartPolicy::kOnFailure;
  else if (policy == "Never")
    c.restart = RestartPolicy::kNever;
  else
    return Err(Invalid("spec.restartPolicy", "Unsupported value: \"" + std::string(policy) + "\""));
  auto readiness = ParseProbe(spec, "readinessProbe");
  if (!readiness) return Err(readiness.error());
  c.readiness = std::move(*readiness);
  auto liveness = ParseProbe(spec, "livenessProbe");
  if (!liveness) return Err(liveness.error());
  c.liveness = std::move(*liveness);
  std::string_view sig = GetStringOr(spec, "stopSignal", "SIGTERM");
  auto signal = ParseSignal(sig);
  if (!signal) return Err(Invalid("spec.stopSignal", "unknown signal \"" + std::string(sig) + "\""));
  c.stop_signal = *signal;
  c.termination_grace_seconds = std::max(0, IntOr(spec, "terminationGracePeriodSeconds", 30));
  c.drain_seconds = std::max(0, IntOr(spec, "drainPeriodSeconds", 0));
  c.max_retries = std::max(0, IntOr(spec, "maxRetries", 10));
  c.initial_backoff_ms = std::max(1, IntOr(spec, "initialBackoffMilliseconds", 200));
  return c;
}

std::string EpochConfig(const json::object& spec) {
  json::object copy = spec;
  copy.erase("agentName");
  copy.erase("agentSelector");
  std::string out;
  Canonical(copy, out);
  return out;
}

std::string Expand(std::string_view text, const std::map<std::string, std::string>& vars) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 == text.size()) {
      out.push_back(text[i]);
      continue;
    }
    if (text[i + 1] == '$') {
      out.push_back('$');
      ++i;
      continue;
    }
    if (text[i + 1] == '(') {
      auto close = text.find(')', i + 2);
      if (close != std::string_view::npos) {
        std::string name(text.substr(i + 2, close - i - 2));
        if (auto it = vars.find(name); it != vars.end()) {
          out += it->second;
          i = close;
          continue;
        }
      }
    }
    out.push_back('$');
  }
  return out;
}

Result<std::string> FieldRef(const json::object& process, std::string_view path) {
  const json::object* meta = GetObject(process, "metadata");
  static const json::object kEmpty;
  if (!meta) meta = &kEmpty;
  if (path == "metadata.name") return std::string(GetStringOr(*meta, "name", ""));
  if (path == "metadata.namespace") return std::string(GetStringOr(*meta, "namespace", ""));
  if (path == "metadata.uid") return std::string(GetStringOr(*meta, "uid", ""));
  if (path == "spec.agentName") {
    const json::object* spec = GetObject(process, "spec");
    return std::string(spec ? GetStringOr(*spec, "agentName", "") : "");
  }
  for (std::string_view map : {"metadata.labels", "metadata.annotations"}) {
    if (auto key = MapKey(path, map)) {
      const json::object* m = GetObject(*meta, map.substr(9));
      return std::string(m ? GetStringOr(*m, *key, "") : "");
    }
  }
  return Err(Status::Invalid("spec.env: unsupported fieldPath \"" + std::string(path) +
                             "\": supported: metadata.name, metadata.namespace, metadata.uid, "
                             "metadata.labels['<key>'], metadata.annotations['<key>'], spec.agentName"));
}

Result<std::vector<std::pair<std::string, std::string>>> BuildEnvironment(
    const ProcessConfig& config, const json::object& process,
    const std::vector<std::pair<std::string, std::string>>& base) {
  std::vector<std::pair<std::string, std::string>> env = base;
  std::map<std::string, std::string> vars(base.begin(), base.end());
  for (const auto& v : config.env) {
    std::string value;
    if (!v.field_path.empty()) {
      auto f = FieldRef(process, v.field_path);
      if (!f) return Err(f.error());
      value = std::move(*f);
    } else {
      value = Expand(v.value, vars);
    }
    vars[v.name] = value;
    auto it = std::find_if(env.begin(), env.end(), [&](auto& kv) { return kv.first == v.name; });
    if (it != env.end())
      it->second = value;
    else
      env.emplace_back(v.name, std::move(value));
  }
  return env;
}

}  // namespace setpoint::agent
