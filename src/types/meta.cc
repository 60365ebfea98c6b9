#include "setpoint/types/meta.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <boost/json/serialize.hpp>

namespace setpoint::types {

namespace json = boost::json;

bool ObjectMeta::has_finalizer(std::string_view f) const {
  return std::find(finalizers.begin(), finalizers.end(), f) != finalizers.end();
}

bool ObjectMeta::add_finalizer(std::string_view f) {
  if (has_finalizer(f)) return false;
  finalizers.emplace_back(f);
  return true;
}

bool ObjectMeta::remove_finalizer(std::string_view f) {
  return std::erase_if(finalizers, [&](const std::string& x) { return x == f; }) > 0;
}

const OwnerReference* ObjectMeta::controller_ref() const {
  for (const auto& r : ownerReferences)
    if (r.controller.value_or(false)) return &r;
  return nullptr;
}

bool ObjectMeta::owned_by(std::string_view owner_uid) const {
  return std::any_of(ownerReferences.begin(), ownerReferences.end(),
                     [&](const OwnerReference& r) { return r.uid == owner_uid; });
}

ObjectMeta MetaOf(const json::object& obj) {
  ObjectMeta meta;
  const json::value* m = obj.if_contains("metadata");
  codec_detail::DecodeError ignored;
  // Lenient by contract: a mistyped field stops the decode there, keeping what was read.
  if (m && m->is_object()) (void)DecodeMembers(m->as_object(), meta, ignored);
  return meta;
}

bool SetCondition(std::vector<Condition>& conditions, Condition c, WallTime now) {
  if (c.lastTransitionTime.empty()) c.lastTransitionTime = FormatRfc3339(now);
  for (Condition& existing : conditions) {
    if (existing.type != c.type) continue;
    bool changed = false;
    if (existing.status != c.status) {
      existing.status = c.status;
      existing.lastTransitionTime = c.lastTransitionTime;
      changed = true;
    }
    auto bring = [&](auto& field, auto& value) {
      if (field != value) field = std::move(value), changed = true;
    };
    bring(existing.reason, c.reason);
    bring(existing.message, c.message);
    bring(existing.observedGeneration, c.observedGeneration);
    return changed;
  }
  conditions.push_back(std::move(c));
  return true;
}

const Condition* FindCondition(const std::vector<Condition>& conditions, std::string_view type) {
  for (const auto& c : conditions)
    if (c.type == type) return &c;
  return nullptr;
}

bool IsConditionTrue(const std::vector<Condition>& conditions, std::string_view type) {
  const Condition* c = FindCondition(conditions, type);
  return c != nullptr && c->status == "True";
}

bool RemoveCondition(std::vector<Condition>& conditions, std::string_view type) {
  return std::erase_if(conditions, [&](const Condition& c) { return c.type == type; }) > 0;
}

const std::string& IntOrString::string_value() const {
  static const std::string kEmpty;
  return is_int() ? kEmpty : std::get<std::string>(v_);
}

std::int64_t IntOrString::scaled(std::int64_t total, bool round_up) const {
  if (is_int()) return int_value();
  const std::string& s = string_value();
  std::int64_t percent = 0;
  if (s.empty() || s.back() != '%') return 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size() - 1, percent);
  if (ec != std::errc() || end != s.data() + s.size() - 1) return 0;
  const double v = static_cast<double>(percent) * static_cast<double>(total) / 100.0;
  return static_cast<std::int64_t>(round_up ? std::ceil(v) : std::floor(v));
}

json::value IntOrString::to_json() const {
  if (is_int()) return int_value();
  return json::string(string_value());
}

Result<IntOrString> IntOrString::from_json(const json::value& v) {
  if (v.is_int64()) return IntOrString(v.as_int64());
  if (v.is_uint64() && v.as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return IntOrString(static_cast<std::int64_t>(v.as_uint64()));
  if (v.is_string()) return IntOrString(std::string(v.as_string()));
  return Err(Status::Invalid("expected an integer or a string, got " + std::string(codec_detail::JsonKind(v))));
}

std::optional<std::int64_t> Quantity::milli_value() const {
  // <sign><digits>[.<digits>][<suffix>]; suffix: Ki..Ei, n u m k M G T P E, or e<exponent>.
  std::string_view s = text_;
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) negative = s[0] == '-', s.remove_prefix(1);
  __int128 mantissa = 0;
  int scale = 0;  // decimal digits after the point
  bool digits = false, point = false;
  std::size_t i = 0;
  for (; i < s.size(); ++i) {
    if (s[i] == '.' && !point) {
      point = true;
      continue;
    }
    if (s[i] < '0' || s[i] > '9') break;
    digits = true;
    if (mantissa > (__int128)1 << 100) return std::nullopt;
    mantissa = mantissa * 10 + (s[i] - '0');
    if (point) ++scale;
  }
  if (!digits) return std::nullopt;
  const std::string_view suffix = s.substr(i);
  int exp10 = 0;
  __int128 factor = 1;
  static constexpr std::pair<std::string_view, int> kBinary[] = {{"Ki", 10}, {"Mi", 20}, {"Gi", 30},
                                                                 {"Ti", 40}, {"Pi", 50}, {"Ei", 60}};
  static constexpr std::pair<std::string_view, int> kDecimal[] = {
      {"n", -9}, {"u", -6}, {"m", -3}, {"", 0}, {"k", 3}, {"M", 6}, {"G", 9}, {"T", 12}, {"P", 15}, {"E", 18}};
  bool known = false;
  for (auto [name, shift] : kBinary)
    if (suffix == name) factor = (__int128)1 << shift, known = true;
  for (auto [name, e] : kDecimal)
    if (suffix == name) exp10 = e, known = true;
  if (!known && suffix.size() > 1 && (suffix[0] == 'e' || suffix[0] == 'E')) {
    auto [end, ec] = std::from_chars(suffix.data() + 1, suffix.data() + suffix.size(), exp10);
    if (ec != std::errc() || end != suffix.data() + suffix.size() || exp10 > 30 || exp10 < -30) return std::nullopt;
    known = true;
  }
  if (!known) return std::nullopt;
  __int128 v = mantissa * factor;
  int e = exp10 + 3 - scale;  // milli-units
  for (; e > 0; --e) {
    v *= 10;
    if (v > (__int128)INT64_MAX) return std::nullopt;
  }
  // Below a thousandth rounds up, as Quantity.MilliValue does.
  for (; e < 0; ++e) v = (v + 9) / 10;
  if (v > (__int128)INT64_MAX) return std::nullopt;
  return static_cast<std::int64_t>(negative ? -v : v);
}

Result<Quantity> Quantity::from_json(const json::value& v) {
  if (v.is_string()) return Quantity(std::string(v.as_string()));
  if (v.is_int64()) return Quantity(std::to_string(v.as_int64()));
  if (v.is_uint64()) return Quantity(std::to_string(v.as_uint64()));
  if (v.is_double()) return Quantity(json::serialize(v));
  return Err(Status::Invalid("expected a quantity, got " + std::string(codec_detail::JsonKind(v))));
}

json::value Duration::to_json() const {
  // Go's time.Duration.String for whole milliseconds: "1h2m3.5s", "250ms", "0s".
  std::int64_t ms = d_.count();
  if (ms == 0) return "0s";
  std::string out = ms < 0 ? "-" : "";
  ms = ms < 0 ? -ms : ms;
  if (ms < 1000) return json::string(out + std::to_string(ms) + "ms");
  const std::int64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
  if (h) out += std::to_string(h) + "h";
  if (h || m) out += std::to_string(m) + "m";
  out += std::to_string(s);
  if (frac) {
    std::string f = std::to_string(1000 + frac).substr(1);
    while (f.back() == '0') f.pop_back();
    out += "." + f;
  }
  return json::string(out + "s");
}

Result<Duration> Duration::from_json(const json::value& v) {
  if (!v.is_string())
    return Err(Status::Invalid("expected a duration string, got " + std::string(codec_detail::JsonKind(v))));
  std::string_view s = v.as_string();
  const std::string text(s);
  auto bad = [&] { return Err(Status::Invalid("invalid duration \"" + text + "\"")); };
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) negative = s[0] == '-', s.remove_prefix(1);
  if (s == "0") return Duration();
  if (s.empty()) return bad();
  double total_ms = 0;
  while (!s.empty()) {
    std::size_t n = 0;
    while (n < s.size() && ((s[n] >= '0' && s[n] <= '9') || s[n] == '.')) ++n;
    if (n == 0) return bad();
    double number = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + n, number);
    if (ec != std::errc() || end != s.data() + n) return bad();
    s.remove_prefix(n);
    std::size_t u = 0;
    while (u < s.size() && !((s[u] >= '0' && s[u] <= '9') || s[u] == '.')) ++u;
    const std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    double scale = 0;
    if (unit == "ns")
      scale = 1e-6;
    else if (unit == "us" || unit == "µs")
      scale = 1e-3;
    else if (unit == "ms")
      scale = 1;
    else if (unit == "s")
      scale = 1e3;
    else if (unit == "m")
      scale = 6e4;
    else if (unit == "h")
      scale = 3.6e6;
    else
      return bad();
    total_ms += number * scale;
  }
  if (total_ms > 9.2e15) return bad();
  const auto ms = static_cast<std::int64_t>(std::llround(total_ms));
  return Duration(std::chrono::milliseconds(negative ? -ms : ms));
}

Status SetControllerReference(const Kind& owner_kind, const ObjectMeta& owner, bool object_namespaced,
                              ObjectMeta& object) {
  if (owner.name.empty()) return Status::Invalid("owner has no name");
  if (owner.uid.empty()) return Status::Invalid("owner has no uid");
  // Upstream's validateOwner: garbage collection follows same-namespace or cluster-scoped owners.
  // A namespaced object not yet placed goes where its owner is.
  if (owner_kind.namespaced) {
    if (!object_namespaced)
      return Status::Invalid("cluster-scoped resource must not have a namespace-scoped owner, owner's namespace " +
                             owner.namespace_);
    if (object.namespace_.empty()) object.namespace_ = owner.namespace_;
    if (object.namespace_ != owner.namespace_)
      return Status::Invalid("cross-namespace owner references are disallowed, owner's namespace " + owner.namespace_ +
                             ", obj's namespace " + object.namespace_);
  }
  const std::string api_version = owner_kind.group.empty()
                                      ? std::string(owner_kind.version)
                                      : std::string(owner_kind.group) + "/" + std::string(owner_kind.version);
  auto same_owner = [&](const OwnerReference& r) {
    const std::string_view group = std::string_view(r.apiVersion).substr(0, r.apiVersion.find('/'));
    const bool grouped = r.apiVersion.find('/') != std::string::npos;
    return (grouped ? group : std::string_view()) == owner_kind.group && r.kind == owner_kind.kind &&
           r.name == owner.name;
  };
  if (const OwnerReference* c = object.controller_ref(); c != nullptr && !same_owner(*c)) {
    std::string where = object.namespace_.empty() ? object.name : object.namespace_ + "/" + object.name;
    Status s =
        Status::Conflict("Object " + where + " is already owned by another " + c->kind + " controller " + c->name);
    s.add_cause(StatusCause{"AlreadyOwned", s.message(), "metadata.ownerReferences"});
    return s;
  }
  OwnerReference ref{api_version, std::string(owner_kind.kind), owner.name, owner.uid, true, true};
  for (OwnerReference& r : object.ownerReferences) {
    if (same_owner(r)) {
      r = std::move(ref);
      return Status::Ok();
    }
  }
  object.ownerReferences.push_back(std::move(ref));
  return Status::Ok();
}

}  // namespace setpoint::types
