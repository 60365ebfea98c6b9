// LabelSelector: a parsed Kubernetes label selector, as used by `?labelSelector=` on list and
// watch and by `metav1.LabelSelector` fields (matchLabels / matchExpressions).
//
// String grammar (k8s.io/apimachinery/pkg/labels.Parse), requirements ANDed by ',':
//   k=v   k==v   k!=v   k in (a,b)   k notin (a,b)   k   !k   k>5   k<5
// Whitespace around tokens is ignored; the empty string selects everything. Keys must be
// qualified names and values valid label values. `!=` and `notin` match objects without the
// key; `>`/`<` compare integers and never match a missing or non-integer label.
//
// Immutable value type once built; const methods are thread-safe.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "setpoint/common/status.h"

namespace setpoint::api {

struct LabelRequirement {
  enum class Op { kEquals, kDoubleEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist, kGreaterThan, kLessThan };
  std::string key;
  Op op = Op::kExists;
  std::vector<std::string> values;  // sorted, without duplicates

  bool matches(const boost::json::object* labels) const;
  std::string to_string() const;
};

class LabelSelector {
 public:
  // The selector that matches everything.
  LabelSelector() = default;

  // Parses the string form. Errors are BadRequest with upstream's wording, e.g.
  // "unable to parse requirement: found '', expected: identifier".
  static Result<LabelSelector> Parse(std::string_view selector);

  // Converts a metav1.LabelSelector object. JSON null selects nothing (upstream's
  // labels.Nothing()); {} selects everything. Errors (bad operator, bad key or value, values
  // given to Exists, none given to In) are Invalid.
  static Result<LabelSelector> FromJson(const boost::json::value& label_selector);

  // True if the labels (nullptr = no labels) satisfy every requirement. Non-string label
  // values count as present but equal to no value.
  bool matches(const boost::json::object* labels) const;

  // True if the selector does not restrict anything.
  bool empty() const { return !nothing_ && requirements_.empty(); }

  // Canonical form: requirements sorted by key, values sorted, joined with ','. The selector
  // that selects nothing renders as "" (as upstream).
  std::string to_string() const;

  // The value `key` must equal for a match (from `=`, `==` or a one-value `in`), if any; lets a
  // store narrow a scan by an indexed label.
  std::optional<std::string> exact(std::string_view key) const;

  const std::vector<LabelRequirement>& requirements() const { return requirements_; }

 private:
  std::vector<LabelRequirement> requirements_;  // sorted by key
  bool nothing_ = false;
};

}  // namespace setpoint::api
