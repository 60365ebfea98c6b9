#include "setpoint/api/label_selector.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "api/json_util.h"
#include "setpoint/api/validation.h"

namespace setpoint::api {
namespace json = boost::json;
using Op = LabelRequirement::Op;

namespace {

enum class Tok { kEnd, kClosePar, kComma, kNot, kDoubleEq, kEq, kGt, kIdent, kIn, kLt, kNotEq, kNotIn, kOpenPar };

struct Token {
  Tok tok;
  std::string lit;
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsSpecial(char c) { return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<'; }

// Splits the input into tokens; the last one is always kEnd.
std::vector<Token> Lex(std::string_view s) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (true) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    if (i >= s.size()) break;
    char c = s[i];
    if (IsSpecial(c)) {
      bool two = i + 1 < s.size() && s[i + 1] == '=' && (c == '!' || c == '=');
      if (two) {
        out.push_back({c == '!' ? Tok::kNotEq : Tok::kDoubleEq, std::string(s.substr(i, 2))});
        i += 2;
        continue;
      }
      Tok t = c == '='   ? Tok::kEq
              : c == '!' ? Tok::kNot
              : c == '(' ? Tok::kOpenPar
              : c == ')' ? Tok::kClosePar
              : c == ',' ? Tok::kComma
              : c == '>' ? Tok::kGt
                         : Tok::kLt;
      out.push_back({t, std::string(1, c)});
      ++i;
      continue;
    }
    std::size_t start = i;
    while (i < s.size() && !IsSpecial(s[i]) && !IsSpace(s[i])) ++i;
    std::string word(s.substr(start, i - start));
    Tok t = word == "in" ? Tok::kIn : word == "notin" ? Tok::kNotIn : Tok::kIdent;
    out.push_back({t, std::move(word)});
  }
  out.push_back({Tok::kEnd, ""});
  return out;
}

bool ParseInt64(std::string_view s, std::int64_t& out) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto res = std::from_chars(s.data(), s.data() + s.size(), out);
  return res.ec == std::errc() && res.ptr == s.data() + s.size();
}

std::string InvalidValue(std::string_view path, std::string_view bad, std::string_view detail) {
  std::string s;
  if (!path.empty()) {
    s += path;
    s += ": ";
  }
  s += "Invalid value: " + internal::GoQuote(bad) + ": ";
  s += detail;
  return s;
}

std::string KeyError(std::string_view path, std::string_view key) {
  auto errs = IsQualifiedName(key);
  return errs.empty() ? std::string() : InvalidValue(path, key, internal::Join(errs, "; "));
}

std::string ValuesJson(const std::vector<std::string>& values) {
  json::array a;
  for (const auto& v : values) a.emplace_back(v);
  return internal::GoJson(a);
}

// Upstream's NewRequirement checks; returns "" when valid. `key_path` is "" when the key was
// validated already (the string parser validates keys as it reads them).
std::string CheckRequirement(const LabelRequirement& r, std::string_view key_path, bool check_key) {
  std::vector<std::string> errs;
  if (check_key) {
    if (auto e = KeyError(key_path, r.key); !e.empty()) errs.push_back(std::move(e));
  }
  switch (r.op) {
    case Op::kIn:
    case Op::kNotIn:
      if (r.values.empty()) {
        errs.push_back("values: Invalid value: " + ValuesJson(r.values) +
                       ": for 'in', 'notin' operators, values set can't be empty");
      }
      break;
    case Op::kEquals:
    case Op::kDoubleEquals:
    case Op::kNotEquals:
      if (r.values.size() != 1) {
        errs.push_back("values: Invalid value: " + ValuesJson(r.values) +
                       ": exact-match compatibility requires one single value");
      }
      break;
    case Op::kExists:
    case Op::kDoesNotExist:
      if (!r.values.empty()) {
        errs.push_back("values: Invalid value: " + ValuesJson(r.values) +
                       ": values set must be empty for exists and does not exist");
      }
      break;
    case Op::kGreaterThan:
    case Op::kLessThan:
      for (std::size_t i = 0; i < r.values.size(); ++i) {
        std::int64_t n = 0;
        if (!ParseInt64(r.values[i], n)) {
          errs.push_back(InvalidValue("values[" + std::to_string(i) + "]", r.values[i],
                                      "for 'Gt', 'Lt' operators, the value must be an integer"));
        }
      }
      break;
  }
  for (std::size_t i = 0; i < r.values.size(); ++i) {
    auto msgs = IsValidLabelValue(r.values[i]);
    if (!msgs.empty()) {
      errs.push_back(
          InvalidValue("values[" + std::to_string(i) + "][" + r.key + "]", r.values[i], internal::Join(msgs, "; ")));
    }
  }
  if (errs.empty()) return {};
  if (errs.size() == 1) return errs[0];
  return "[" + internal::Join(errs, ", ") + "]";
}

void Normalize(std::vector<std::string>& values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
}

class Parser {
 public:
  explicit Parser(std::string_view s) : toks_(Lex(s)) {}

  Result<std::vector<LabelRequirement>> Run() {
    std::vector<LabelRequirement> reqs;
    while (true) {
      Token t = Peek(true);
      if (t.tok == Tok::kEnd) return reqs;
      if (t.tok != Tok::kIdent && t.tok != Tok::kNot) {
        return Fail("found '" + t.lit + "', expected: !, identifier, or 'end of string'");
      }
      LabelRequirement r;
      if (std::string err = ParseRequirement(r); !err.empty()) return Fail("unable to parse requirement: " + err);
      reqs.push_back(std::move(r));
      Token sep = Next(true);
      if (sep.tok == Tok::kEnd) return reqs;
      if (sep.tok != Tok::kComma) return Fail("found '" + sep.lit + "', expected: ',' or 'end of string'");
      Token after = Peek(true);
      if (after.tok != Tok::kIdent && after.tok != Tok::kNot) {
        return Fail("found '" + after.lit + "', expected: identifier after ','");
      }
    }
  }

 private:
  static tl::unexpected<Status> Fail(std::string msg) { return Err(Status::BadRequest(std::move(msg))); }

  // In a value position the keywords "in" and "notin" are ordinary identifiers.
  Token Adjust(const Token& t, bool values) const {
    if (values && (t.tok == Tok::kIn || t.tok == Tok::kNotIn)) return {Tok::kIdent, t.lit};
    return t;
  }
  Token Peek(bool values) const { return Adjust(toks_[pos_], values); }
  Token Next(bool values) {
    Token t = Adjust(toks_[pos_], values);
    if (pos_ + 1 < toks_.size()) ++pos_;  // the final kEnd is sticky
    return t;
  }

  std::string ParseRequirement(LabelRequirement& r) {
    Token t = Next(true);
    bool negated = t.tok == Tok::kNot;
    if (negated) t = Next(true);
    if (t.tok != Tok::kIdent) return "found '" + t.lit + "', expected: identifier";
    if (auto e = KeyError("", t.lit); !e.empty()) return e;
    r.key = t.lit;
    Tok after = Peek(true).tok;
    if (negated || after == Tok::kEnd || after == Tok::kComma) {
      // "!k" is always unary: anything other than ',' or the end after it fails in the caller.
      r.op = negated ? Op::kDoesNotExist : Op::kExists;
      return CheckRequirement(r, "", false);
    }
    Token op = Next(false);
    switch (op.tok) {
      case Tok::kIn:
        r.op = Op::kIn;
        break;
      case Tok::kNotIn:
        r.op = Op::kNotIn;
        break;
      case Tok::kEq:
        r.op = Op::kEquals;
        break;
      case Tok::kDoubleEq:
        r.op = Op::kDoubleEquals;
        break;
      case Tok::kNotEq:
        r.op = Op::kNotEquals;
        break;
      case Tok::kGt:
        r.op = Op::kGreaterThan;
        break;
      case Tok::kLt:
        r.op = Op::kLessThan;
        break;
      default:
        return "found '" + op.lit + "', expected: in, notin, =, ==, !=, gt, lt";
    }
    std::string err = (r.op == Op::kIn || r.op == Op::kNotIn) ? ParseValueSet(r.values) : ParseExactValue(r.values);
    if (!err.empty()) return err;
    Normalize(r.values);
    return CheckRequirement(r, "", false);
  }

  std::string ParseValueSet(std::vector<std::string>& values) {
    Token t = Next(true);
    if (t.tok != Tok::kOpenPar) return "found '" + t.lit + "' expected: '('";
    Token first = Peek(true);
    if (first.tok == Tok::kClosePar) {  // "()" is the set {""}
      Next(true);
      values.emplace_back();
      return {};
    }
    if (first.tok != Tok::kIdent && first.tok != Tok::kComma) {
      return "found '" + first.lit + "', expected: ',', ')' or identifier";
    }
    // A comma-separated list in which empty items ("(,a)", "(a,,b)", "(a,)") stand for "".
    while (true) {
      Token item = Next(true);
      if (item.tok == Tok::kIdent) {
        values.push_back(item.lit);
        Token sep = Peek(true);
        if (sep.tok == Tok::kClosePar) break;
        if (sep.tok != Tok::kComma) return "found '" + sep.lit + "', expected: ',' or ')'";
        continue;
      }
      if (item.tok == Tok::kComma) {
        if (values.empty()) values.emplace_back();
        Tok next = Peek(true).tok;
        if (next == Tok::kClosePar) {
          values.emplace_back();
          break;
        }
        if (next == Tok::kComma) {
          Next(true);
          values.emplace_back();
        }
        continue;
      }
      return "found '" + item.lit + "', expected: ',', or identifier";
    }
    Token close = Next(true);
    if (close.tok != Tok::kClosePar) return "found '" + close.lit + "', expected: ')'";
    return {};
  }

  std::string ParseExactValue(std::vector<std::string>& values) {
    Tok next = Peek(true).tok;
    if (next == Tok::kEnd || next == Tok::kComma) {
      values.emplace_back();
      return {};
    }
    Token t = Next(true);
    if (t.tok != Tok::kIdent) return "found '" + t.lit + "', expected: identifier";
    values.push_back(t.lit);
    return {};
  }

  std::vector<Token> toks_;
  std::size_t pos_ = 0;
};

const json::string* LabelValue(const json::object* labels, std::string_view key, bool& present) {
  present = false;
  if (labels == nullptr) return nullptr;
  const auto* v = labels->if_contains(key);
  if (v == nullptr) return nullptr;
  present = true;
  return v->if_string();
}

void SortByKey(std::vector<LabelRequirement>& reqs) {
  std::stable_sort(reqs.begin(), reqs.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
}

}  // namespace

bool LabelRequirement::matches(const json::object* labels) const {
  bool present = false;
  const json::string* value = LabelValue(labels, key, present);
  auto has_value = [&] {
    return value != nullptr && std::binary_search(values.begin(), values.end(), std::string_view(*value));
  };
  switch (op) {
    case Op::kEquals:
    case Op::kDoubleEquals:
    case Op::kIn:
      return present && has_value();
    case Op::kNotEquals:
    case Op::kNotIn:
      return !present || !has_value();
    case Op::kExists:
      return present;
    case Op::kDoesNotExist:
      return !present;
    case Op::kGreaterThan:
    case Op::kLessThan: {
      std::int64_t have = 0;
      std::int64_t want = 0;
      if (value == nullptr || values.size() != 1 || !ParseInt64(*value, have) || !ParseInt64(values[0], want)) {
        return false;
      }
      return op == Op::kGreaterThan ? have > want : have < want;
    }
  }
  return false;
}

std::string LabelRequirement::to_string() const {
  std::string s = op == Op::kDoesNotExist ? "!" + key : key;
  switch (op) {
    case Op::kExists:
    case Op::kDoesNotExist:
      return s;
    case Op::kEquals:
      s += "=";
      break;
    case Op::kDoubleEquals:
      s += "==";
      break;
    case Op::kNotEquals:
      s += "!=";
      break;
    case Op::kGreaterThan:
      s += ">";
      break;
    case Op::kLessThan:
      s += "<";
      break;
    case Op::kIn:
      s += " in (";
      break;
    case Op::kNotIn:
      s += " notin (";
      break;
  }
  s += internal::Join(values, ",");
  if (op == Op::kIn || op == Op::kNotIn) s += ")";
  return s;
}

Result<LabelSelector> LabelSelector::Parse(std::string_view selector) {
  Parser p(selector);
  auto reqs = p.Run();
  if (!reqs) return Err(std::move(reqs.error()));
  LabelSelector out;
  out.requirements_ = std::move(*reqs);
  SortByKey(out.requirements_);
  return out;
}

Result<LabelSelector> LabelSelector::FromJson(const json::value& label_selector) {
  LabelSelector out;
  if (label_selector.is_null()) {
    out.nothing_ = true;
    return out;
  }
  const auto* obj = label_selector.if_object();
  if (obj == nullptr) return Err(Status::Invalid("label selector must be an object"));
  if (const auto* ml = obj->if_contains("matchLabels"); ml != nullptr && !ml->is_null()) {
    if (!ml->is_object()) return Err(Status::Invalid("matchLabels must be an object of strings"));
    for (const auto& kv : ml->get_object()) {
      if (!kv.value().is_string()) return Err(Status::Invalid("matchLabels must be an object of strings"));
      LabelRequirement r{std::string(kv.key()), Op::kEquals, {std::string(kv.value().get_string())}};
      if (auto e = CheckRequirement(r, "key", true); !e.empty()) return Err(Status::Invalid(e));
      out.requirements_.push_back(std::move(r));
    }
  }
  if (const auto* me = obj->if_contains("matchExpressions"); me != nullptr && !me->is_null()) {
    if (!me->is_array()) return Err(Status::Invalid("matchExpressions must be an array"));
    for (const auto& item : me->get_array()) {
      const auto* expr = item.if_object();
      if (expr == nullptr) return Err(Status::Invalid("matchExpressions items must be objects"));
      LabelRequirement r;
      const auto* key = expr->if_contains("key");
      if (key == nullptr || !key->is_string()) return Err(Status::Invalid("matchExpressions key must be a string"));
      r.key = std::string(key->get_string());
      const auto* op = expr->if_contains("operator");
      std::string_view ops = op != nullptr && op->is_string() ? std::string_view(op->get_string()) : "";
      if (ops == "In") {
        r.op = Op::kIn;
      } else if (ops == "NotIn") {
        r.op = Op::kNotIn;
      } else if (ops == "Exists") {
        r.op = Op::kExists;
      } else if (ops == "DoesNotExist") {
        r.op = Op::kDoesNotExist;
      } else {
        return Err(Status::Invalid(internal::GoQuote(ops) + " is not a valid label selector operator"));
      }
      if (const auto* vals = expr->if_contains("values"); vals != nullptr && !vals->is_null()) {
        if (!vals->is_array()) return Err(Status::Invalid("matchExpressions values must be an array of strings"));
        for (const auto& v : vals->get_array()) {
          if (!v.is_string()) return Err(Status::Invalid("matchExpressions values must be an array of strings"));
          r.values.emplace_back(v.get_string());
        }
      }
      Normalize(r.values);
      if (auto e = CheckRequirement(r, "key", true); !e.empty()) return Err(Status::Invalid(e));
      out.requirements_.push_back(std::move(r));
    }
  }
  SortByKey(out.requirements_);
  return out;
}

bool LabelSelector::matches(const json::object* labels) const {
  if (nothing_) return false;
  return std::all_of(requirements_.begin(), requirements_.end(), [&](const auto& r) { return r.matches(labels); });
}

std::string LabelSelector::to_string() const {
  std::vector<std::string> parts;
  for (const auto& r : requirements_) parts.push_back(r.to_string());
  return internal::Join(parts, ",");
}

std::optional<std::string> LabelSelector::exact(std::string_view key) const {
  for (const auto& r : requirements_) {
    if (r.key != key) continue;
    bool eq = r.op == Op::kEquals || r.op == Op::kDoubleEquals || r.op == Op::kIn;
    if (eq && r.values.size() == 1) return r.values[0];
  }
  return std::nullopt;
}

}  // namespace setpoint::api
