#include "setpoint/common/json.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace setpoint {

namespace json = boost::json;

Result<json::value> ParseJson(std::string_view text, int max_depth) {
  json::parse_options opts;
  opts.max_depth = static_cast<std::size_t>(max_depth);
  std::error_code ec;
  json::value v = json::parse(text, ec, {}, opts);
  if (ec) {
    if (ec == json::error::too_deep) {
      return Err(Status::BadRequest("the request body is nested deeper than " + std::to_string(max_depth) + " levels"));
    }
    return Err(Status::BadRequest("the body of the request could not be decoded as JSON: " + ec.message()));
  }
  if (auto where = FindNonFiniteNumber(v)) {
    return Err(Status::BadRequest("the body of the request could not be decoded as JSON: the number at " +
                                  (where->empty() ? std::string("the top level") : *where) +
                                  " is out of the range of a 64-bit float"));
  }
  return v;
}

std::optional<std::string> FindNonFiniteNumber(const json::value& root) {
  // Iterative, so that the walk costs no stack whatever the depth; the path is built only on a hit.
  struct Frame {
    const json::value* v;
    std::size_t next = 0;
  };
  std::vector<Frame> stack{{&root}};
  while (!stack.empty()) {
    Frame& f = stack.back();
    const json::value* child = nullptr;
    if (f.v->is_double()) {
      if (!std::isfinite(f.v->get_double())) {
        std::string path;
        for (std::size_t i = 0; i + 1 < stack.size(); ++i) {
          const json::value& parent = *stack[i].v;
          const std::size_t at = stack[i].next - 1;
          if (parent.is_object()) {
            if (!path.empty()) path.push_back('.');
            path.append((parent.get_object().begin() + static_cast<std::ptrdiff_t>(at))->key());
          } else {
            path += "[" + std::to_string(at) + "]";
          }
        }
        return path;
      }
    } else if (f.v->is_object() && f.next < f.v->get_object().size()) {
      child = &(f.v->get_object().begin() + static_cast<std::ptrdiff_t>(f.next++))->value();
    } else if (f.v->is_array() && f.next < f.v->get_array().size()) {
      child = &f.v->get_array()[f.next++];
    }
    if (child) {
      if (child->is_object() || child->is_array() || child->is_double()) stack.push_back({child});
      continue;
    }
    stack.pop_back();
  }
  return std::nullopt;
}

std::string ToJson(const json::value& v) { return json::serialize(v); }

namespace {

// A cursor over valid JSON text: every step assumes validity and stops at the end of the text
// rather than reading past it.
struct JsonCursor {
  std::string_view t;
  std::size_t i = 0;

  bool at_end() const { return i >= t.size(); }
  void skip_ws() {
    while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) ++i;
  }
  // At an opening quote: moves past the closing one; returns the raw contents.
  std::string_view string() {
    const std::size_t begin = ++i;
    while (i < t.size() && t[i] != '"') i += t[i] == '\\' ? 2 : 1;
    const std::size_t end = std::min(i, t.size());
    ++i;
    return t.substr(begin, end - begin);
  }
  // Moves past one value of any type.
  void value() {
    if (at_end()) return;
    if (t[i] == '"') {
      string();
      return;
    }
    if (t[i] == '{' || t[i] == '[') {
      int depth = 0;
      while (i < t.size()) {
        const char c = t[i];
        if (c == '"') {
          string();
          continue;
        }
        ++i;
        if (c == '{' || c == '[')
          ++depth;
        else if ((c == '}' || c == ']') && --depth == 0)
          return;
      }
      return;
    }
    while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']' && t[i] != ' ' && t[i] != '\t' && t[i] != '\n' &&
           t[i] != '\r')
      ++i;
  }
};

}  // namespace

std::optional<std::pair<std::size_t, std::size_t>> FindTopLevelMember(std::string_view text, std::string_view key) {
  JsonCursor c{text};
  c.skip_ws();
  if (c.at_end() || text[c.i] != '{') return std::nullopt;
  ++c.i;
  while (true) {
    c.skip_ws();
    if (c.at_end() || text[c.i] != '"') return std::nullopt;  // '}' (no more members) or invalid
    const std::string_view k = c.string();
    c.skip_ws();
    if (c.at_end() || text[c.i] != ':') return std::nullopt;
    ++c.i;
    c.skip_ws();
    const std::size_t begin = c.i;
    c.value();
    if (k == key) return std::make_pair(begin, c.i - begin);
    c.skip_ws();
    if (c.at_end() || text[c.i] != ',') return std::nullopt;
    ++c.i;
  }
}

std::optional<std::string> FindDuplicateKey(std::string_view text) {
  // One frame per open container: its keys so far (views into `text`) and the key it sits under.
  struct Frame {
    bool object = false;
    std::vector<std::string_view> keys;
    std::string_view under;
  };
  std::vector<Frame> stack;
  std::string_view pending_key;  // the last key read in the innermost object
  auto path = [&](std::string_view leaf) {
    std::string p;
    for (std::size_t i = 1; i < stack.size(); ++i) {
      if (stack[i].under.empty()) continue;
      if (!p.empty()) p.push_back('.');
      p.append(stack[i].under);
    }
    if (!p.empty()) p.push_back('.');
    p.append(leaf);
    return p;
  };
  std::size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == '"') {
      std::size_t start = ++i;
      while (i < text.size() && text[i] != '"') i += text[i] == '\\' ? 2 : 1;
      std::string_view str = text.substr(start, std::min(i, text.size()) - start);
      ++i;
      std::size_t j = i;
      while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r')) ++j;
      if (j < text.size() && text[j] == ':' && !stack.empty() && stack.back().object) {
        auto& keys = stack.back().keys;
        for (auto k : keys)
          if (k == str) return path(str);
        keys.push_back(str);
        pending_key = str;
        i = j + 1;
      }
      continue;
    }
    if (c == '{' || c == '[') {
      Frame f;
      f.object = c == '{';
      f.under = (!stack.empty() && stack.back().object) ? pending_key : std::string_view();
      stack.push_back(std::move(f));
    } else if (c == '}' || c == ']') {
      if (!stack.empty()) stack.pop_back();
    }
    ++i;
  }
  return std::nullopt;
}

const json::object* GetObject(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_object()) return nullptr;
  return &it->value().get_object();
}

json::object* GetObject(json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_object()) return nullptr;
  return &it->value().get_object();
}

const json::array* GetArray(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_array()) return nullptr;
  return &it->value().get_array();
}

std::optional<std::string_view> GetString(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return std::nullopt;
  const auto& s = it->value().get_string();
  return std::string_view(s.data(), s.size());
}

std::string_view GetStringOr(const json::object& o, std::string_view key, std::string_view fallback) {
  auto s = GetString(o, key);
  return s ? *s : fallback;
}

std::optional<std::int64_t> GetInt(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return std::nullopt;
  const auto& v = it->value();
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v.get_uint64());
  return std::nullopt;
}

json::object& EnsureObject(json::object& o, std::string_view key) {
  json::value& v = o[key];
  if (!v.is_object()) v = json::object();
  return v.get_object();
}

}  // namespace setpoint
