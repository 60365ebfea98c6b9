#include "setpoint/api/yaml.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "api/json_util.h"

namespace setpoint::api {
namespace json = boost::json;

namespace {

constexpr std::string_view kPrefix = "error converting YAML to JSON: yaml: ";
constexpr std::size_t kBaseAliasBudget = 100000;
constexpr int kMaxTrailingDocuments = 64;

// Thrown by the event handler to abort parsing; caught in YamlToJson and never escapes.
struct YamlError {
  int line;  // 0-based, or -1 when unknown
  std::string message;
};

// ---- scalar resolution (go-yaml v2) ----

enum class Special { kNone, kTrue, kFalse, kNull, kInf, kNan };

Special Lookup(std::string_view s) {
  static const std::map<std::string_view, Special> kTable = {
      {"y", Special::kTrue},      {"Y", Special::kTrue},      {"yes", Special::kTrue},    {"Yes", Special::kTrue},
      {"YES", Special::kTrue},    {"true", Special::kTrue},   {"True", Special::kTrue},   {"TRUE", Special::kTrue},
      {"on", Special::kTrue},     {"On", Special::kTrue},     {"ON", Special::kTrue},     {"n", Special::kFalse},
      {"N", Special::kFalse},     {"no", Special::kFalse},    {"No", Special::kFalse},    {"NO", Special::kFalse},
      {"false", Special::kFalse}, {"False", Special::kFalse}, {"FALSE", Special::kFalse}, {"off", Special::kFalse},
      {"Off", Special::kFalse},   {"OFF", Special::kFalse},   {"", Special::kNull},       {"~", Special::kNull},
      {"null", Special::kNull},   {"Null", Special::kNull},   {"NULL", Special::kNull},   {".nan", Special::kNan},
      {".NaN", Special::kNan},    {".NAN", Special::kNan},    {".inf", Special::kInf},    {".Inf", Special::kInf},
      {".INF", Special::kInf},    {"+.inf", Special::kInf},   {"+.Inf", Special::kInf},   {"+.INF", Special::kInf},
      {"-.inf", Special::kInf},   {"-.Inf", Special::kInf},   {"-.INF", Special::kInf},
  };
  auto it = kTable.find(s);
  return it == kTable.end() ? Special::kNone : it->second;
}

// Go's strconv.ParseUint(s, 0, 64) without sign: 0x/0o/0b prefixes, a leading 0 means octal.
bool ParseUnsignedGo(std::string_view s, std::uint64_t& out) {
  int base = 10;
  if (s.size() > 1 && s[0] == '0') {
    char p = s[1];
    if (p == 'x' || p == 'X') {
      base = 16;
      s.remove_prefix(2);
    } else if (p == 'o' || p == 'O') {
      base = 8;
      s.remove_prefix(2);
    } else if (p == 'b' || p == 'B') {
      base = 2;
      s.remove_prefix(2);
    } else {
      base = 8;
      s.remove_prefix(1);
    }
  }
  if (s.empty()) return false;
  auto res = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return res.ec == std::errc() && res.ptr == s.data() + s.size();
}

// Integer per go-yaml v2: int64 when it fits, else uint64.
bool ParseYamlInt(std::string_view s, json::value& out) {
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  std::uint64_t u = 0;
  if (!ParseUnsignedGo(s, u)) return false;
  if (neg) {
    if (u > static_cast<std::uint64_t>(INT64_MAX) + 1) return false;
    out = u == static_cast<std::uint64_t>(INT64_MAX) + 1 ? INT64_MIN : -static_cast<std::int64_t>(u);
  } else if (u <= static_cast<std::uint64_t>(INT64_MAX)) {
    out = static_cast<std::int64_t>(u);
  } else {
    out = u;
  }
  return true;
}

// ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
bool LooksLikeYamlFloat(std::string_view s) {
  std::size_t i = 0;
  auto digits = [&] {
    std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - start;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  } else {
    if (digits() == 0) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

// A float as the YAML -> JSON -> object round trip yields it: integral values become int64.
bool ParseYamlFloat(std::string_view s, json::value& out) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  double d = 0;
  auto res = std::from_chars(s.data(), s.data() + s.size(), d);
  if (res.ec != std::errc() || res.ptr != s.data() + s.size() || !std::isfinite(d)) return false;
  if (d == std::floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
    out = static_cast<std::int64_t>(d);
  } else {
    out = d;
  }
  return true;
}

json::value ResolvePlain(const std::string& s, int line) {
  switch (Lookup(s)) {
    case Special::kTrue:
      return true;
    case Special::kFalse:
      return false;
    case Special::kNull:
      return nullptr;
    case Special::kInf:
      throw YamlError{line, "json: unsupported value: " + s};
    case Special::kNan:
      throw YamlError{line, "json: unsupported value: NaN"};
    case Special::kNone:
      break;
  }
  char c = s[0];
  json::value out;
  if (c == '.') {
    if (LooksLikeYamlFloat(s) && ParseYamlFloat(s, out)) return out;
    return json::string(s);
  }
  if ((c >= '0' && c <= '9') || c == '+' || c == '-') {
    std::string plain;
    for (char ch : s) {
      if (ch != '_') plain += ch;
    }
    if (ParseYamlInt(plain, out)) return out;
    if (LooksLikeYamlFloat(plain) && ParseYamlFloat(plain, out)) return out;
  }
  return json::string(s);
}

json::value ResolveScalar(const std::string& tag, const std::string& value, int line) {
  static const std::string kCore = "tag:yaml.org,2002:";
  if (tag == "?") return ResolvePlain(value, line);
  if (tag.rfind(kCore, 0) == 0) {
    std::string_view t = std::string_view(tag).substr(kCore.size());
    json::value out;
    if (t == "int" && ParseYamlInt(value, out)) return out;
    if (t == "float" && (ParseYamlInt(value, out) || ParseYamlFloat(value, out))) {
      return out;
    }
    if (t == "bool" && (Lookup(value) == Special::kTrue || Lookup(value) == Special::kFalse)) {
      return Lookup(value) == Special::kTrue;
    }
    if (t == "null" && Lookup(value) == Special::kNull) return nullptr;
    if (t == "int" || t == "float" || t == "bool" || t == "null") {
      throw YamlError{line, "cannot decode " + internal::GoQuote(value) + " as !!" + std::string(t)};
    }
  }
  return json::string(value);  // "!" (quoted or block scalars), !!str, and unknown tags
}

// Builds one JSON value from yaml-cpp's parse events.
class Builder : public YAML::EventHandler {
 public:
  Builder(int max_depth, std::size_t alias_budget, std::vector<std::string>* dups)
      : max_depth_(max_depth), alias_budget_(alias_budget), dups_(dups) {}

  json::value take() { return std::move(root_); }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (ExpectingKey()) throw YamlError{mark.line, "unsupported map key: null"};
    Emit(nullptr, anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (open_.contains(anchor)) throw YamlError{mark.line, "anchor refers to a node that contains it"};
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) throw YamlError{mark.line, "unknown anchor"};
    std::size_t n = internal::CountNodes(it->second, alias_budget_ + 1);
    if (n > alias_budget_) throw YamlError{mark.line, "document contains excessive aliasing"};
    alias_budget_ -= n;
    if (ExpectingKey()) {
      SetKey(it->second, false, mark);
      return;
    }
    Emit(it->second, 0);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    json::value v = ResolveScalar(tag, value, mark.line);
    if (ExpectingKey()) {
      if (anchor != 0) anchors_[anchor] = v;
      SetKey(v, tag == "?" && value == "<<", mark);
      return;
    }
    Emit(std::move(v), anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(mark, anchor, false);
  }
  void OnSequenceEnd() override { Close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(mark, anchor, true);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    bool is_map = false;
    json::value container;
    YAML::anchor_t anchor = 0;
    std::string path;
    bool expect_key = true;
    std::string key;
    bool key_is_merge = false;
    int key_line = 0;
    std::vector<json::value> merges;
  };

  bool ExpectingKey() const { return !stack_.empty() && stack_.back().is_map && stack_.back().expect_key; }

  void Open(const YAML::Mark& mark, YAML::anchor_t anchor, bool is_map) {
    if (ExpectingKey()) throw YamlError{mark.line, "unsupported map key: a collection"};
    if (static_cast<int>(stack_.size()) >= max_depth_) {
      throw YamlError{mark.line, "exceeded max depth of " + std::to_string(max_depth_)};
    }
    std::string path;
    if (!stack_.empty()) {
      const Frame& parent = stack_.back();
      if (parent.is_map) {
        path = parent.path.empty() ? parent.key : parent.path + "." + parent.key;
      } else {
        path = parent.path + "[" + std::to_string(parent.container.get_array().size()) + "]";
      }
    }
    if (anchor != 0) open_.insert(anchor);
    Frame f;
    f.is_map = is_map;
    f.container = is_map ? json::value(json::object()) : json::value(json::array());
    f.anchor = anchor;
    f.path = std::move(path);
    stack_.push_back(std::move(f));
  }

  void Close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (f.is_map) ApplyMerges(f);
    if (f.anchor != 0) open_.erase(f.anchor);
    Emit(std::move(f.container), f.anchor);
  }

  // "<<" keys: entries of the merged maps fill keys the map does not set itself; earlier
  // merged maps win over later ones.
  void ApplyMerges(Frame& f) {
    auto& obj = f.container.get_object();
    auto merge_one = [&](const json::value& m) {
      const auto* src = m.if_object();
      if (src == nullptr) throw YamlError{f.key_line, "map merge requires map or sequence of maps as the value"};
      for (const auto& kv : *src) {
        if (!obj.contains(kv.key())) obj[kv.key()] = kv.value();
      }
    };
    for (const auto& m : f.merges) {
      if (const auto* list = m.if_array()) {
        for (const auto& e : *list) merge_one(e);
      } else {
        merge_one(m);
      }
    }
  }

  void SetKey(const json::value& k, bool is_merge, const YAML::Mark& mark) {
    Frame& f = stack_.back();
    switch (k.kind()) {
      case json::kind::string:
        f.key = std::string(k.get_string());
        break;
      case json::kind::bool_:
        f.key = k.get_bool() ? "true" : "false";
        break;
      case json::kind::int64:
        f.key = std::to_string(k.get_int64());
        break;
      case json::kind::uint64:
        f.key = std::to_string(k.get_uint64());
        break;
      case json::kind::double_:
        f.key = internal::GoFloat(k.get_double());
        break;
      default:
        throw YamlError{mark.line, "unsupported map key of type " + std::string(internal::JsonTypeName(k))};
    }
    f.key_is_merge = is_merge;
    f.key_line = mark.line;
    f.expect_key = false;
  }

  void Emit(json::value v, YAML::anchor_t anchor) {
    if (anchor != 0) anchors_[anchor] = v;
    if (stack_.empty()) {
      root_ = std::move(v);
      return;
    }
    Frame& f = stack_.back();
    if (!f.is_map) {
      f.container.get_array().push_back(std::move(v));
      return;
    }
    f.expect_key = true;
    if (f.key_is_merge) {
      f.merges.push_back(std::move(v));
      return;
    }
    auto& obj = f.container.get_object();
    if (obj.contains(f.key) && dups_ != nullptr) {
      dups_->push_back(f.path.empty() ? f.key : f.path + "." + f.key);
    }
    obj[f.key] = std::move(v);
  }

  int max_depth_;
  std::size_t alias_budget_;
  std::vector<std::string>* dups_;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, json::value> anchors_;
  std::set<YAML::anchor_t> open_;
  json::value root_;
};

// Swallows the events of further documents, noting whether any has content: a stream ending
// in "---" carries an empty (null) document that is no reason to refuse it.
class Discard : public YAML::EventHandler {
 public:
  bool has_content() const { return content_; }
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { content_ = true; }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override { content_ = true; }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    content_ = true;
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    content_ = true;
  }
  void OnMapEnd() override {}

 private:
  bool content_ = false;
};

Status Failure(int line, const std::string& msg) {
  std::string s(kPrefix);
  if (line >= 0) s += "line " + std::to_string(line + 1) + ": ";
  return Status::BadRequest(s + msg);
}

// Whether a plain (unquoted) YAML scalar with this text would read back as something other than
// this string: a bool, null or number under YAML 1.1 or 1.2 rules (what kubectl and PyYAML read).
bool LooksLikeNonString(const std::string& s) {
  static const std::set<std::string> kWords = {
      "true", "True", "TRUE", "false", "False", "FALSE", "yes",   "Yes",  "YES",  "no",  "No",   "NO",
      "on",   "On",   "ON",   "off",   "Off",   "OFF",   "y",     "Y",    "n",    "N",   "null", "Null",
      "NULL", "~",    ".inf", ".Inf",  ".INF",  "-.inf", "+.inf", ".nan", ".NaN", ".NAN"};
  if (kWords.count(s)) return true;
  // Numbers: an optional sign, then digits (with _ , . e E x o b and hex digits as YAML 1.1 allows),
  // starting with a digit or a dot followed by a digit. Quoting a string that merely looks numeric
  // is harmless; failing to quote a number is not.
  std::size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i >= s.size()) return false;
  if (!std::isdigit(static_cast<unsigned char>(s[i])) &&
      !(s[i] == '.' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))))
    return false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (!std::isxdigit(static_cast<unsigned char>(c)) &&
        std::string_view("_.:eExXoObB+-").find(c) == std::string_view::npos)
      return false;
  }
  return true;
}

void EmitYaml(YAML::Emitter& e, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::object:
      e << YAML::BeginMap;
      for (const auto& kv : v.get_object()) {
        e << YAML::Key << std::string(kv.key());
        e << YAML::Value;
        EmitYaml(e, kv.value());
      }
      e << YAML::EndMap;
      break;
    case boost::json::kind::array:
      e << YAML::BeginSeq;
      for (const auto& x : v.get_array()) EmitYaml(e, x);
      e << YAML::EndSeq;
      break;
    case boost::json::kind::string: {
      std::string s(v.get_string());
      e << (s.empty() || LooksLikeNonString(s) ? YAML::DoubleQuoted : YAML::Auto) << s;
      break;
    }
    case boost::json::kind::bool_:
      e << v.get_bool();
      break;
    case boost::json::kind::null:
      e << YAML::Null;
      break;
    default:
      e << boost::json::serialize(v);
      break;
  }
}

}  // namespace

Result<json::value> YamlToJson(std::string_view yaml, int max_depth, std::vector<std::string>* duplicate_fields) {
  try {
    std::istringstream in{std::string(yaml)};
    YAML::Parser parser(in);
    Builder builder(max_depth < 1 ? 1 : max_depth, kBaseAliasBudget + yaml.size(), duplicate_fields);
    if (!parser.HandleNextDocument(builder)) return json::value(nullptr);
    // yaml-cpp can report documents forever on some trailing garbage (a stray '}') without
    // consuming input, so the number of empty trailing documents is bounded.
    Discard rest;
    for (int extra = 0; parser.HandleNextDocument(rest); ++extra) {
      if (rest.has_content()) return Err(Failure(-1, "expected a single document in the stream"));
      if (extra >= kMaxTrailingDocuments) return Err(Failure(-1, "unexpected content after the document"));
    }
    return builder.take();
  } catch (const YamlError& e) {
    return Err(Failure(e.line, e.message));
  } catch (const YAML::Exception& e) {
    return Err(Failure(e.mark.is_null() ? -1 : e.mark.line, e.msg));
  } catch (const std::exception& e) {
    return Err(Failure(-1, e.what()));
  } catch (...) {
    return Err(Failure(-1, "unknown error"));
  }
}

std::string JsonToYaml(const boost::json::value& v) {
  YAML::Emitter e;
  EmitYaml(e, v);
  return e.c_str();
}

}  // namespace setpoint::api
