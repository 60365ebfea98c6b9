#include "apiserver/table.h"

#include <boost/json.hpp>

#include "setpoint/common/json.h"

namespace setpoint::apiserver {

namespace json = boost::json;

namespace {

// Applies one step to every current node.
void Step(std::vector<const json::value*>& nodes, std::string_view path, bool& ok) {
  std::size_t i = 0;
  while (i < path.size() && ok) {
    if (path[i] == '.') {
      ++i;
      std::size_t j = i;
      while (j < path.size() && path[j] != '.' && path[j] != '[') ++j;
      std::string_view field = path.substr(i, j - i);
      i = j;
      if (field.empty()) continue;
      std::vector<const json::value*> next;
      for (auto* n : nodes)
        if (n->is_object())
          if (auto it = n->get_object().find(field); it != n->get_object().end()) next.push_back(&it->value());
      nodes.swap(next);
    } else if (path[i] == '[') {
      std::size_t close = path.find(']', i);
      if (close == std::string_view::npos) {
        ok = false;
        return;
      }
      std::string_view inner = path.substr(i + 1, close - i - 1);
      // Filters may contain ']' inside quotes; find the real end for "?(...)".
      if (!inner.empty() && inner[0] == '?') {
        std::size_t end = path.find(")]", i);
        if (end == std::string_view::npos) {
          ok = false;
          return;
        }
        inner = path.substr(i + 1, end + 1 - i - 1);
        close = end + 1;
      }
      i = close + 1;
      std::vector<const json::value*> next;
      if (inner == "*") {
        for (auto* n : nodes)
          if (n->is_array())
            for (const auto& e : n->get_array()) next.push_back(&e);
      } else if (!inner.empty() && inner[0] == '?') {
        // ?(@.field=="value") or ?(@.field==value)
        std::string_view expr = inner.substr(1);
        if (expr.size() < 2 || expr.front() != '(' || expr.back() != ')') {
          ok = false;
          return;
        }
        expr = expr.substr(1, expr.size() - 2);
        auto eq = expr.find("==");
        if (eq == std::string_view::npos || expr.substr(0, 2) != "@.") {
          ok = false;
          return;
        }
        std::string_view lhs = expr.substr(1, eq - 1);
        std::string_view rhs = expr.substr(eq + 2);
        while (!rhs.empty() && rhs.front() == ' ') rhs.remove_prefix(1);
        while (!lhs.empty() && lhs.back() == ' ') lhs.remove_suffix(1);
        if (rhs.size() >= 2 && (rhs.front() == '"' || rhs.front() == '\'')) rhs = rhs.substr(1, rhs.size() - 2);
        for (auto* n : nodes) {
          if (!n->is_array()) continue;
          for (const auto& e : n->get_array()) {
            std::vector<const json::value*> probe{&e};
            bool pok = true;
            Step(probe, lhs, pok);
            for (auto* p : probe) {
              bool match =
                  (p->is_string() && p->get_string() == rhs) || (!p->is_string() && json::serialize(*p) == rhs);
              if (match) {
                next.push_back(&e);
                break;
              }
            }
          }
        }
      } else {
        long idx = 0;
        bool neg = false;
        std::size_t k = 0;
        if (!inner.empty() && inner[0] == '-') {
          neg = true;
          k = 1;
        }
        if (k == inner.size()) {
          ok = false;
          return;
        }
        for (; k < inner.size(); ++k) {
          if (inner[k] < '0' || inner[k] > '9') {
            ok = false;
            return;
          }
          idx = idx * 10 + (inner[k] - '0');
          if (idx > 1000000) break;
        }
        for (auto* n : nodes) {
          if (!n->is_array()) continue;
          long size = static_cast<long>(n->get_array().size());
          long at = neg ? size - idx : idx;
          if (at >= 0 && at < size) next.push_back(&n->get_array()[static_cast<std::size_t>(at)]);
        }
      }
      nodes.swap(next);
    } else {
      ok = false;
    }
  }
}

}  // namespace

std::vector<const json::value*> EvalJsonPath(const json::value& root, std::string_view path) {
  // Accept "{.a.b}" as kubectl writes it, and ".a.b".
  if (path.size() >= 2 && path.front() == '{' && path.back() == '}') path = path.substr(1, path.size() - 2);
  std::vector<const json::value*> nodes{&root};
  bool ok = true;
  Step(nodes, path, ok);
  if (!ok) return {};
  return nodes;
}

json::value CellFor(const PrinterColumn& column, const json::value& object, WallTime now) {
  if (!column.count_paths.empty()) {
    std::int64_t count = 0;
    for (const auto& path : column.count_paths)
      for (const json::value* v : EvalJsonPath(object, path)) {
        if (v->is_object())
          count += static_cast<std::int64_t>(v->get_object().size());
        else if (v->is_array())
          count += static_cast<std::int64_t>(v->get_array().size());
      }
    return count;
  }
  auto found = EvalJsonPath(object, column.json_path);
  if (found.empty() || found[0]->is_null()) return nullptr;
  const json::value& v = *found[0];
  if (column.type == "date") {
    if (v.is_string()) {
      if (auto t = ParseRfc3339(std::string_view(v.get_string().data(), v.get_string().size())))
        return json::string(HumanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - *t)));
    }
    return nullptr;
  }
  if (column.type == "integer") {
    if (v.is_int64() || v.is_uint64()) return v;
    if (v.is_double()) return static_cast<std::int64_t>(v.get_double());
    return nullptr;
  }
  if (column.type == "number") return v.is_number() ? v : json::value(nullptr);
  if (column.type == "boolean") return v.is_bool() ? v : json::value(nullptr);
  if (v.is_string()) return v;
  if (found.size() > 1) {
    std::string joined;
    for (std::size_t i = 0; i < found.size(); ++i) {
      if (i) joined += ",";
      joined += found[i]->is_string() ? std::string(found[i]->get_string()) : json::serialize(*found[i]);
    }
    return json::string(joined);
  }
  return json::string(json::serialize(v));
}

json::array TableColumns(const std::vector<PrinterColumn>& columns) {
  json::array defs;
  defs.push_back({{"name", "Name"},
                  {"type", "string"},
                  {"format", "name"},
                  {"description", "Name must be unique within a namespace."},
                  {"priority", 0}});
  for (const auto& c : columns)
    defs.push_back({{"name", c.name},
                    {"type", c.type},
                    {"format", c.format},
                    {"description", c.description},
                    {"priority", c.priority}});
  return defs;
}

json::object TableRow(const std::vector<PrinterColumn>& columns, const json::object& object, WallTime now,
                      bool include_object) {
  json::array cells;
  const json::object* meta = GetObject(object, "metadata");
  cells.emplace_back(meta ? json::string(GetStringOr(*meta, "name", "")) : json::string());
  json::value whole(object);
  for (const auto& c : columns) cells.push_back(CellFor(c, whole, now));
  json::object row;
  row["cells"] = std::move(cells);
  if (include_object) {
    json::object partial;
    partial["kind"] = "PartialObjectMetadata";
    partial["apiVersion"] = "meta.k8s.io/v1";
    partial["metadata"] = meta ? json::value(*meta) : json::value(json::object());
    row["object"] = std::move(partial);
  }
  return row;
}

}  // namespace setpoint::apiserver
