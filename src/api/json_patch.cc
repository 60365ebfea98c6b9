// RFC 7386 merge patch and RFC 6902 JSON patch.
#include <charconv>
#include <optional>
#include <string_view>
#include <vector>

#include "api/json_util.h"
#include "setpoint/api/patch.h"

namespace setpoint::api {
namespace json = boost::json;

namespace {

constexpr int kMaxPatchDepth = 1000;

bool MergeInto(json::value& target, const json::value& patch, int depth) {
  if (depth > kMaxPatchDepth) return false;
  if (!patch.is_object()) {
    target = patch;
    return true;
  }
  if (!target.is_object()) target = json::object();
  auto& obj = target.get_object();
  for (const auto& kv : patch.get_object()) {
    if (kv.value().is_null()) {
      obj.erase(kv.key());
      continue;
    }
    if (!MergeInto(obj[kv.key()], kv.value(), depth + 1)) return false;
  }
  return true;
}

// ---- JSON pointer (RFC 6901) ----

struct Pointer {
  std::string text;
  std::vector<std::string> tokens;  // unescaped
};

std::optional<Pointer> ParsePointer(std::string_view p) {
  Pointer out{std::string(p), {}};
  if (p.empty()) return out;
  if (p[0] != '/') return std::nullopt;
  std::string tok;
  for (std::size_t i = 1; i <= p.size(); ++i) {
    if (i == p.size() || p[i] == '/') {
      out.tokens.push_back(std::move(tok));
      tok.clear();
      continue;
    }
    if (p[i] == '~') {
      if (i + 1 >= p.size() || (p[i + 1] != '0' && p[i + 1] != '1')) return std::nullopt;
      tok += p[i + 1] == '0' ? '~' : '/';
      ++i;
      continue;
    }
    tok += p[i];
  }
  return out;
}

// "0" or a digit string without a leading zero that fits in size_t.
std::optional<std::size_t> ParseIndex(std::string_view tok) {
  if (tok.empty() || (tok.size() > 1 && tok[0] == '0')) return std::nullopt;
  std::size_t n = 0;
  auto res = std::from_chars(tok.data(), tok.data() + tok.size(), n);
  if (res.ec != std::errc() || res.ptr != tok.data() + tok.size()) return std::nullopt;
  return n;
}

json::value* Child(json::value& v, const std::string& tok) {
  if (auto* o = v.if_object()) return o->if_contains(tok);
  if (auto* a = v.if_array()) {
    auto i = ParseIndex(tok);
    if (!i || *i >= a->size()) return nullptr;
    return &(*a)[*i];
  }
  return nullptr;
}

// Follows the first `n` tokens; nullptr if any step is missing.
json::value* Walk(json::value& doc, const Pointer& p, std::size_t n) {
  json::value* cur = &doc;
  for (std::size_t i = 0; i < n && cur != nullptr; ++i) cur = Child(*cur, p.tokens[i]);
  return cur;
}

Status Missing(std::string_view op, const Pointer& p) {
  return Status::Invalid(std::string(op) +
                         " operation does not apply: doc is missing path: " + internal::GoQuote(p.text));
}

Status BadIndex(std::string_view op, const Pointer& p) {
  return Status::Invalid(std::string(op) + " operation does not apply: invalid or out of range array index in " +
                         internal::GoQuote(p.text));
}

class Applier {
 public:
  explicit Applier(json::value doc) : doc_(std::move(doc)) {}

  json::value& doc() { return doc_; }

  Status Add(std::string_view op, const Pointer& p, json::value value) {
    if (p.tokens.empty()) {
      doc_ = std::move(value);
      return Status::Ok();
    }
    json::value* parent = Walk(doc_, p, p.tokens.size() - 1);
    if (parent == nullptr) return Missing(op, p);
    const std::string& last = p.tokens.back();
    if (auto* o = parent->if_object()) {
      (*o)[last] = std::move(value);
      return Status::Ok();
    }
    if (auto* a = parent->if_array()) {
      if (last == "-") {
        a->push_back(std::move(value));
        return Status::Ok();
      }
      auto i = ParseIndex(last);
      if (!i || *i > a->size()) return BadIndex(op, p);
      a->insert(a->begin() + static_cast<std::ptrdiff_t>(*i), std::move(value));
      return Status::Ok();
    }
    return Missing(op, p);
  }

  // Removes and returns the value at p.
  Result<json::value> Take(std::string_view op, const Pointer& p) {
    if (p.tokens.empty())
      return Err(Status::Invalid(std::string(op) + " operation does not apply: cannot remove the root"));
    json::value* parent = Walk(doc_, p, p.tokens.size() - 1);
    if (parent == nullptr) return Err(Missing(op, p));
    const std::string& last = p.tokens.back();
    if (auto* o = parent->if_object()) {
      auto it = o->find(last);
      if (it == o->end()) return Err(Missing(op, p));
      json::value v = std::move(it->value());
      o->erase(it);
      return v;
    }
    if (auto* a = parent->if_array()) {
      auto i = ParseIndex(last);
      if (!i || *i >= a->size()) return Err(BadIndex(op, p));
      json::value v = std::move((*a)[*i]);
      a->erase(a->begin() + static_cast<std::ptrdiff_t>(*i));
      return v;
    }
    return Err(Missing(op, p));
  }

  Status Apply(const json::object& op_obj, std::string_view op, const Pointer& path, const Pointer* from) {
    if (op == "add") return Add(op, path, op_obj.at("value"));
    if (op == "remove") {
      auto r = Take(op, path);
      return r ? Status::Ok() : r.error();
    }
    if (op == "replace") {
      json::value* target = Walk(doc_, path, path.tokens.size());
      if (target == nullptr) return Missing(op, path);
      *target = op_obj.at("value");
      return Status::Ok();
    }
    if (op == "test") {
      json::value* target = Walk(doc_, path, path.tokens.size());
      if (target == nullptr) return Missing(op, path);
      if (!internal::JsonEqual(*target, op_obj.at("value"))) {
        return Status::Invalid("testing value " + path.text + " failed: test failed");
      }
      return Status::Ok();
    }
    if (op == "move") {
      if (from->text == path.text) {
        if (Walk(doc_, path, path.tokens.size()) == nullptr) return Missing(op, *from);
        return Status::Ok();
      }
      if (path.text.starts_with(from->text + "/")) {
        return Status::Invalid("move operation does not apply: cannot move " + internal::GoQuote(from->text) +
                               " into its own child " + internal::GoQuote(path.text));
      }
      auto v = Take(op, *from);
      if (!v) return v.error();
      return Add(op, path, std::move(*v));
    }
    // copy
    json::value* source = Walk(doc_, *from, from->tokens.size());
    if (source == nullptr) return Missing(op, *from);
    copied_ += internal::CountNodes(*source, kMaxJsonPatchCopiedNodes + 1);
    if (copied_ > kMaxJsonPatchCopiedNodes) {
      return Status::Invalid("copy operation does not apply: the copies in this patch exceed " +
                             std::to_string(kMaxJsonPatchCopiedNodes) + " JSON nodes");
    }
    return Add(op, path, json::value(*source));
  }

 private:
  json::value doc_;
  std::size_t copied_ = 0;
};

struct ParsedOp {
  const json::object* obj;
  std::string op;
  Pointer path;
  std::optional<Pointer> from;
};

Result<std::vector<ParsedOp>> ParseOps(const json::value& patch) {
  const auto* arr = patch.if_array();
  if (arr == nullptr) return Err(Status::BadRequest("json patch must be an array of operations"));
  if (arr->size() > kMaxJsonPatchOperations) {
    return Err(Status::TooLarge("The allowed maximum operations in a JSON patch is " +
                                std::to_string(kMaxJsonPatchOperations) + ", got " + std::to_string(arr->size())));
  }
  std::vector<ParsedOp> ops;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    std::string where = "json patch operation " + std::to_string(i);
    const auto* obj = (*arr)[i].if_object();
    if (obj == nullptr) return Err(Status::BadRequest(where + " is not an object"));
    const auto* op = obj->if_contains("op");
    if (op == nullptr || !op->is_string()) return Err(Status::BadRequest(where + ": missing string field \"op\""));
    std::string name(op->get_string());
    if (name != "add" && name != "remove" && name != "replace" && name != "move" && name != "copy" && name != "test") {
      return Err(Status::BadRequest(where + ": unexpected operation " + internal::GoQuote(name)));
    }
    auto pointer = [&](std::string_view field) -> Result<Pointer> {
      const auto* v = obj->if_contains(field);
      if (v == nullptr || !v->is_string()) {
        return Err(Status::BadRequest(where + " (" + name + "): missing string field \"" + std::string(field) + "\""));
      }
      auto p = ParsePointer(v->get_string());
      if (!p) {
        return Err(
            Status::BadRequest(where + " (" + name + "): invalid JSON pointer " + internal::GoQuote(v->get_string())));
      }
      return *p;
    };
    auto path = pointer("path");
    if (!path) return Err(std::move(path.error()));
    ParsedOp parsed{obj, name, std::move(*path), std::nullopt};
    if (name == "move" || name == "copy") {
      auto from = pointer("from");
      if (!from) return Err(std::move(from.error()));
      parsed.from = std::move(*from);
    }
    if ((name == "add" || name == "replace" || name == "test") && obj->if_contains("value") == nullptr) {
      return Err(Status::BadRequest(where + " (" + name + "): missing field \"value\""));
    }
    ops.push_back(std::move(parsed));
  }
  return ops;
}

}  // namespace

Result<json::value> ApplyMergePatch(const json::value& target, const json::value& patch) {
  json::value out = target;
  if (!MergeInto(out, patch, 0)) return Err(Status::BadRequest("merge patch is nested too deeply"));
  return out;
}

Result<json::value> ApplyJsonPatch(const json::value& target, const json::value& patch) {
  auto ops = ParseOps(patch);
  if (!ops) return Err(std::move(ops.error()));
  Applier applier(target);
  for (const auto& op : *ops) {
    Status s = applier.Apply(*op.obj, op.op, op.path, op.from ? &*op.from : nullptr);
    if (!s.ok()) return Err(std::move(s));
  }
  return std::move(applier.doc());
}

}  // namespace setpoint::api
