#include "setpoint/runtime/conditions.h"

#include <unordered_set>

#include "setpoint/common/json.h"

namespace json = boost::json;

namespace setpoint::runtime {
namespace {

constexpr std::size_t kMaxTypeLength = 316;
constexpr std::size_t kMaxQualifiedNameLength = 63;
constexpr std::size_t kMaxDnsSubdomainLength = 253;
constexpr std::size_t kMaxReasonLength = 1024;
constexpr std::size_t kMaxMessageLength = 32768;

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return IsLower(c) || IsUpper(c); }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }

// [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool IsDnsLabel(std::string_view s) {
  if (s.empty()) return false;
  auto ok_edge = [](char c) { return IsLower(c) || IsDigit(c); };
  if (!ok_edge(s.front()) || !ok_edge(s.back())) return false;
  for (char c : s) {
    if (!ok_edge(c) && c != '-') return false;
  }
  return true;
}

// label(\.label)*
bool IsDnsSubdomain(std::string_view s) {
  while (true) {
    const auto dot = s.find('.');
    if (!IsDnsLabel(s.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool IsQualifiedNamePart(std::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  for (char c : s) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

std::string_view StringField(const json::object& o, std::string_view key) { return GetStringOr(o, key, ""); }

StatusCause Cause(std::string reason, std::string_view path, std::string_view field, std::string message) {
  std::string full(path);
  if (!full.empty()) full += '.';
  full += field;
  return StatusCause{std::move(reason), std::move(message), std::move(full)};
}

}  // namespace

bool is_valid_condition_type(std::string_view type) {
  if (type.empty() || type.size() > kMaxTypeLength) return false;
  const auto slash = type.find('/');
  // The API server checks the type as a qualified name (ValidateLabelName): the name part at
  // most 63 characters, the optional prefix a DNS subdomain of at most 253.
  const std::string_view name = slash == std::string_view::npos ? type : type.substr(slash + 1);
  if (name.size() > kMaxQualifiedNameLength || !IsQualifiedNamePart(name)) return false;
  if (slash == std::string_view::npos) return true;
  const std::string_view prefix = type.substr(0, slash);
  return prefix.size() <= kMaxDnsSubdomainLength && IsDnsSubdomain(prefix);
}

bool is_valid_condition_reason(std::string_view reason) {
  // ^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$
  if (reason.empty() || reason.size() > kMaxReasonLength) return false;
  if (!IsAlpha(reason.front())) return false;
  if (!IsAlnum(reason.back()) && reason.back() != '_') return false;
  for (char c : reason) {
    if (!IsAlnum(c) && c != '_' && c != ',' && c != ':') return false;
  }
  return true;
}

json::object Condition::to_json(WallTime now) const {
  json::object o;
  o["type"] = type;
  o["status"] = status;
  if (observed_generation != 0) o["observedGeneration"] = observed_generation;
  o["lastTransitionTime"] = FormatRfc3339(last_transition_time.value_or(now));
  o["reason"] = reason;
  o["message"] = message;
  return o;
}

bool set_condition(json::array& conditions, const Condition& c, WallTime now) {
  json::object* existing = nullptr;
  for (json::value& v : conditions) {
    if (v.is_object() && StringField(v.get_object(), "type") == c.type) {
      existing = &v.get_object();
      break;
    }
  }
  if (existing == nullptr) {
    conditions.push_back(c.to_json(now));
    return true;
  }
  bool changed = false;
  auto put = [&](std::string_view key, std::string_view value) {
    if (StringField(*existing, key) != value || !existing->contains(key)) {
      (*existing)[key] = value;
      changed = true;
    }
  };
  if (StringField(*existing, "status") != c.status) {
    put("status", c.status);
    (*existing)["lastTransitionTime"] = FormatRfc3339(c.last_transition_time.value_or(now));
    changed = true;
  }
  put("reason", c.reason);
  put("message", c.message);
  const std::optional<std::int64_t> generation = GetInt(*existing, "observedGeneration");
  if (c.observed_generation == 0) {
    if (existing->erase("observedGeneration") > 0) changed = true;
  } else if (generation != c.observed_generation) {
    (*existing)["observedGeneration"] = c.observed_generation;
    changed = true;
  }
  return changed;
}

const json::object* find_condition(const json::array& conditions, std::string_view type) {
  for (const json::value& v : conditions) {
    if (v.is_object() && StringField(v.get_object(), "type") == type) return &v.get_object();
  }
  return nullptr;
}

bool is_true(const json::array& conditions, std::string_view type) {
  const json::object* c = find_condition(conditions, type);
  return c != nullptr && StringField(*c, "status") == kConditionTrue;
}

bool is_false(const json::array& conditions, std::string_view type) {
  const json::object* c = find_condition(conditions, type);
  return c != nullptr && StringField(*c, "status") == kConditionFalse;
}

bool remove_condition(json::array& conditions, std::string_view type) {
  bool removed = false;
  for (auto it = conditions.begin(); it != conditions.end();) {
    if (it->is_object() && StringField(it->get_object(), "type") == type) {
      it = conditions.erase(it);
      removed = true;
    } else {
      ++it;
    }
  }
  return removed;
}

std::vector<StatusCause> validate_condition(const json::value& value, std::string_view path) {
  std::vector<StatusCause> causes;
  if (!value.is_object()) {
    causes.push_back(Cause("FieldValueInvalid", path, "", "must be an object"));
    causes.back().field = std::string(path);
    return causes;
  }
  const json::object& o = value.get_object();
  auto required_string = [&](std::string_view key) -> std::optional<std::string_view> {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) {
      causes.push_back(Cause("FieldValueRequired", path, key, "Required value"));
      return std::nullopt;
    }
    if (!v->is_string()) {
      causes.push_back(Cause("FieldValueInvalid", path, key, "must be a string"));
      return std::nullopt;
    }
    return std::string_view(v->get_string());
  };

  if (auto type = required_string("type")) {
    if (type->empty()) {
      causes.push_back(Cause("FieldValueRequired", path, "type", "Required value"));
    } else if (type->size() > kMaxTypeLength) {
      causes.push_back(Cause("FieldValueTooLong", path, "type", "may not be more than 316 bytes"));
    } else if (!is_valid_condition_type(*type)) {
      causes.push_back(Cause("FieldValueInvalid", path, "type",
                             "a qualified name must consist of alphanumeric characters, '-', '_' or "
                             "'.', and must start and end with an alphanumeric character, with an "
                             "optional DNS subdomain prefix and '/'"));
    }
  }
  if (auto status = required_string("status")) {
    if (*status != kConditionTrue && *status != kConditionFalse && *status != kConditionUnknown) {
      causes.push_back(
          Cause("FieldValueNotSupported", path, "status", "supported values: \"True\", \"False\", \"Unknown\""));
    }
  }
  if (auto reason = required_string("reason")) {
    if (reason->empty()) {
      causes.push_back(Cause("FieldValueRequired", path, "reason", "Required value"));
    } else if (reason->size() > kMaxReasonLength) {
      causes.push_back(Cause("FieldValueTooLong", path, "reason", "may not be more than 1024 bytes"));
    } else if (!is_valid_condition_reason(*reason)) {
      causes.push_back(Cause("FieldValueInvalid", path, "reason",
                             "a condition reason must start with alphabetic character, optionally "
                             "followed by a string of alphanumeric characters or '_,:', and must "
                             "end with an alphanumeric character or '_'"));
    }
  }
  if (const json::value* m = o.if_contains("message"); m != nullptr && !m->is_null()) {
    if (!m->is_string()) {
      causes.push_back(Cause("FieldValueInvalid", path, "message", "must be a string"));
    } else if (m->get_string().size() > kMaxMessageLength) {
      causes.push_back(Cause("FieldValueTooLong", path, "message", "may not be more than 32768 bytes"));
    }
  } else {
    // Required, but the empty string is a valid value.
    causes.push_back(Cause("FieldValueRequired", path, "message", "Required value"));
  }
  if (auto t = required_string("lastTransitionTime")) {
    if (!ParseRfc3339(*t)) {
      causes.push_back(Cause("FieldValueInvalid", path, "lastTransitionTime", "must be an RFC 3339 time"));
    }
  }
  if (const json::value* g = o.if_contains("observedGeneration"); g != nullptr && !g->is_null()) {
    const bool integral = g->is_int64() || g->is_uint64();
    if (!integral || (g->is_int64() && g->get_int64() < 0)) {
      causes.push_back(Cause("FieldValueInvalid", path, "observedGeneration", "must be greater than or equal to 0"));
    }
  }
  return causes;
}

std::vector<StatusCause> validate_conditions(const json::array& conditions, std::string_view path) {
  std::vector<StatusCause> causes;
  std::unordered_set<std::string> seen;
  for (std::size_t i = 0; i < conditions.size(); ++i) {
    const std::string item = std::string(path) + "[" + std::to_string(i) + "]";
    for (StatusCause& c : validate_condition(conditions[i], item)) causes.push_back(std::move(c));
    if (conditions[i].is_object()) {
      const std::string_view type = StringField(conditions[i].get_object(), "type");
      if (!type.empty() && !seen.insert(std::string(type)).second) {
        causes.push_back(
            StatusCause{"FieldValueDuplicate", "Duplicate value: \"" + std::string(type) + "\"", item + ".type"});
      }
    }
  }
  return causes;
}

}  // namespace setpoint::runtime
