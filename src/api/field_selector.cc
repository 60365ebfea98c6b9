#include "setpoint/api/field_selector.h"

#include <algorithm>
#include <tuple>

namespace setpoint::api {
namespace {

// Splits on ',' not preceded by an escaping backslash; escapes stay in the pieces.
std::vector<std::string_view> SplitTerms(std::string_view s) {
  std::vector<std::string_view> terms;
  std::size_t start = 0;
  bool escaped = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (escaped) {
      escaped = false;
    } else if (s[i] == '\\') {
      escaped = true;
    } else if (s[i] == ',') {
      terms.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  terms.push_back(s.substr(start));
  return terms;
}

// Finds the first operator position; "!=" and "==" win over "=" at the same position.
bool SplitTerm(std::string_view term, std::string_view& lhs, FieldRequirement::Op& op, std::string_view& rhs) {
  for (std::size_t i = 0; i < term.size(); ++i) {
    std::string_view rest = term.substr(i);
    std::size_t len = 0;
    if (rest.starts_with("!=")) {
      op = FieldRequirement::Op::kNotEq;
      len = 2;
    } else if (rest.starts_with("==")) {
      op = FieldRequirement::Op::kEq;
      len = 2;
    } else if (rest.starts_with("=")) {
      op = FieldRequirement::Op::kEq;
      len = 1;
    } else {
      continue;
    }
    lhs = term.substr(0, i);
    rhs = term.substr(i + len);
    return true;
  }
  return false;
}

Result<std::string> UnescapeValue(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool escaped = false;
  for (char c : s) {
    if (escaped) {
      if (c != '\\' && c != ',' && c != '=' && c != '!') {
        return Err(Status::BadRequest("invalid field selector: invalid escape sequence: " + std::string(s)));
      }
      out += c;
      escaped = false;
    } else if (c == '\\') {
      escaped = true;
    } else if (c == ',' || c == '=') {
      return Err(Status::BadRequest("invalid field selector: unescaped character in value: " + std::string(1, c)));
    } else {
      out += c;
    }
  }
  if (escaped) return Err(Status::BadRequest("invalid field selector: invalid escape sequence: " + std::string(s)));
  return out;
}

}  // namespace

std::string EscapeFieldValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == ',' || c == '=') out += '\\';
    out += c;
  }
  return out;
}

Result<FieldSelector> FieldSelector::Parse(std::string_view selector) {
  FieldSelector out;
  if (selector.empty()) return out;
  for (std::string_view term : SplitTerms(selector)) {
    if (term.empty()) continue;
    std::string_view lhs;
    std::string_view rhs;
    FieldRequirement::Op op = FieldRequirement::Op::kEq;
    if (!SplitTerm(term, lhs, op, rhs)) {
      return Err(Status::BadRequest("invalid selector: '" + std::string(selector) + "'; can't understand '" +
                                    std::string(term) + "'"));
    }
    auto value = UnescapeValue(rhs);
    if (!value) return Err(std::move(value.error()));
    out.requirements_.push_back(FieldRequirement{std::string(lhs), op, std::move(*value)});
  }
  std::sort(out.requirements_.begin(), out.requirements_.end(), [](const auto& a, const auto& b) {
    return std::tie(a.field, a.op, a.value) < std::tie(b.field, b.op, b.value);
  });
  return out;
}

bool FieldSelector::matches(const std::function<std::optional<std::string>(std::string_view field)>& get_field) const {
  for (const auto& r : requirements_) {
    std::string have = get_field ? get_field(r.field).value_or("") : std::string();
    bool equal = have == r.value;
    if (equal != (r.op == FieldRequirement::Op::kEq)) return false;
  }
  return true;
}

std::optional<std::string> FieldSelector::exact(std::string_view field) const {
  for (const auto& r : requirements_) {
    if (r.field == field && r.op == FieldRequirement::Op::kEq) return r.value;
  }
  return std::nullopt;
}

std::string FieldSelector::to_string() const {
  std::string out;
  for (const auto& r : requirements_) {
    if (!out.empty()) out += ',';
    out += r.field;
    out += r.op == FieldRequirement::Op::kEq ? "=" : "!=";
    out += EscapeFieldValue(r.value);
  }
  return out;
}

}  // namespace setpoint::api
