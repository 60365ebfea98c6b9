#include "cli/cli.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <iomanip>
#include <limits>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>

#include <boost/json.hpp>

#include "cli/manifests.h"
#include "cli/session.h"
#include "setpoint/api/yaml.h"
#include "setpoint/client/dynamic_client.h"
#include "setpoint/client/rest_client.h"
#include "setpoint/common/clock.h"
#include "setpoint/common/json.h"

namespace setpoint::cli {

namespace json = boost::json;
using client::GroupVersionResource;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kTableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

// Resolves the resource of a manifest by its apiVersion and kind.
Result<GroupVersionResource> ResolveManifest(Session& s, const json::object& obj) {
  std::string kind(GetStringOr(obj, "kind", ""));
  std::string api_version(GetStringOr(obj, "apiVersion", ""));
  if (kind.empty() || api_version.empty()) return Err(Status::BadRequest("Object 'Kind' or 'apiVersion' is missing"));
  auto gvr = client::Discover(*s.rest, kind);
  if (!gvr) return Err(Status::NotFound("no matches for kind \"" + kind + "\" in version \"" + api_version + "\""));
  auto slash = api_version.find('/');
  gvr->group = slash == std::string::npos ? "" : api_version.substr(0, slash);
  gvr->version = slash == std::string::npos ? api_version : api_version.substr(slash + 1);
  return gvr;
}

std::string Qualified(const GroupVersionResource& gvr) {
  return gvr.group.empty() ? gvr.resource : gvr.resource + "." + gvr.group;
}

std::string NameOf(const json::object& obj) {
  const json::object* meta = GetObject(obj, "metadata");
  return meta ? std::string(GetStringOr(*meta, "name", "")) : "";
}

std::string KindOf(const GroupVersionResource& gvr) {
  std::string k = gvr.kind.empty() ? gvr.resource : gvr.kind;
  std::transform(k.begin(), k.end(), k.begin(), ::tolower);
  return gvr.group.empty() ? k : k + "." + gvr.group;
}

void PrettyJson(std::ostream& out, const json::value& v, int indent = 0) {
  std::string pad(static_cast<std::size_t>(indent), ' ');
  if (v.is_object()) {
    const auto& o = v.get_object();
    if (o.empty()) {
      out << "{}";
      return;
    }
    out << "{\n";
    std::size_t i = 0;
    for (const auto& kv : o) {
      out << pad << "    " << json::serialize(json::string(kv.key())) << ": ";
      PrettyJson(out, kv.value(), indent + 4);
      out << (++i < o.size() ? ",\n" : "\n");
    }
    out << pad << "}";
  } else if (v.is_array()) {
    const auto& a = v.get_array();
    if (a.empty()) {
      out << "[]";
      return;
    }
    out << "[\n";
    for (std::size_t i = 0; i < a.size(); ++i) {
      out << pad << "    ";
      PrettyJson(out, a[i], indent + 4);
      out << (i + 1 < a.size() ? ",\n" : "\n");
    }
    out << pad << "]";
  } else {
    out << json::serialize(v);
  }
}

void PrintStructured(std::ostream& out, const std::string& format, const json::value& v) {
  if (format == "json") {
    PrettyJson(out, v);
    out << "\n";
  } else {
    out << api::JsonToYaml(v) << "\n";
  }
}

std::string Cell(const json::value& v) {
  if (v.is_null()) return "<none>";
  if (v.is_string()) return std::string(v.get_string());
  return json::serialize(v);
}

// Prints a server-side Table like kubectl: upper-case headers, columns padded by three spaces.
struct TablePrinter {
  std::vector<std::string> headers;
  std::vector<std::size_t> columns;  // indexes of the shown columns
  bool with_namespace = false;

  void define(const json::array& defs, bool wide, bool all_namespaces) {
    headers.clear();
    columns.clear();
    with_namespace = all_namespaces;
    if (with_namespace) headers.push_back("NAMESPACE");
    for (std::size_t i = 0; i < defs.size(); ++i) {
      if (!defs[i].is_object()) continue;
      auto prio = GetInt(defs[i].get_object(), "priority").value_or(0);
      if (prio > 0 && !wide) continue;
      std::string h(GetStringOr(defs[i].get_object(), "name", ""));
      std::transform(h.begin(), h.end(), h.begin(), ::toupper);
      headers.push_back(h);
      columns.push_back(i);
    }
  }
  std::vector<std::string> row(const json::object& r) const {
    std::vector<std::string> out;
    if (with_namespace) {
      std::string ns;
      if (const json::object* o = GetObject(r, "object"))
        if (const json::object* m = GetObject(*o, "metadata")) ns = std::string(GetStringOr(*m, "namespace", ""));
      out.push_back(ns);
    }
    const json::array* cells = GetArray(r, "cells");
    for (auto c : columns) out.push_back(cells && c < cells->size() ? Cell((*cells)[c]) : "");
    return out;
  }
  static void print(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width;
    for (const auto& r : rows)
      for (std::size_t i = 0; i < r.size(); ++i) {
        if (width.size() <= i) width.push_back(0);
        width[i] = std::max(width[i], r[i].size());
      }
    for (const auto& r : rows) {
      std::string line;
      for (std::size_t i = 0; i < r.size(); ++i) {
        line += r[i];
        if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 3, ' ');
      }
      out << line << "\n";
    }
  }
};

std::string WithQuery(std::string path, const std::vector<std::pair<std::string, std::string>>& params) {
  char sep = '?';
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    path += sep + k + "=" + client::UrlEncode(v);
    sep = '&';
  }
  return path;
}

Result<json::object> GetTable(Session& s, const GroupVersionResource& gvr, const std::string& ns,
                              const std::string& name, const std::string& selector) {
  std::string path = WithQuery(client::ResourcePath(gvr, ns, name), {{"labelSelector", selector}});
  auto resp =
      s.rest->request(client::Method::kGet, path, {}, "application/json", {{"Accept", std::string(kTableAccept)}});
  if (!resp) return Err(resp.error());
  auto v = ParseJson(resp->body);
  if (!v || !v->is_object()) return Err(Status::Internal("the server sent an unreadable table"));
  return std::move(v->get_object());
}

}  // namespace

int Get(const CommonOptions& common, const GetOptions& o, std::ostream& out, std::ostream& err) {
  auto session = Connect(common);
  if (!session) return Fail(err, session.error(), false);
  Session& s = *session;
  auto gvr = Resolve(s, o.kind);
  if (!gvr) return Fail(err, gvr.error(), false);
  std::string ns = gvr->namespaced && !common.all_namespaces ? s.ns : "";
  if (o.output == "yaml" || o.output == "json" || o.output == "name") {
    json::value result;
    std::vector<json::object> items;
    if (!o.name.empty()) {
      auto obj = s.dynamic->get(*gvr, ns, o.name);
      if (!obj) return Fail(err, obj.error());
      items.push_back(*obj);
      result = *obj;
    } else {
      client::ListOptions lo;
      lo.label_selector = o.selector;
      auto list = s.dynamic->list(*gvr, ns, lo);
      if (!list) return Fail(err, list.error());
      json::array arr;
      for (auto& i : list->items) {
        items.push_back(i);
        arr.push_back(i);
      }
      result = json::object{
          {"apiVersion", "v1"}, {"kind", "List"}, {"items", std::move(arr)}, {"metadata", {{"resourceVersion", ""}}}};
    }
    if (o.output == "name") {
      for (const auto& i : items) out << KindOf(*gvr) << "/" << NameOf(i) << "\n";
    } else {
      PrintStructured(out, o.output, result);
    }
    return 0;
  }
  auto table = GetTable(s, *gvr, ns, o.name, o.selector);
  if (!table) return Fail(err, table.error());
  TablePrinter printer;
  const json::array* defs = GetArray(*table, "columnDefinitions");
  printer.define(defs ? *defs : json::array(), o.output == "wide", common.all_namespaces && gvr->namespaced);
  std::vector<std::vector<std::string>> rows{printer.headers};
  std::map<std::string, std::vector<std::string>> last_row;  // for watch deletions
  if (const json::array* rs = GetArray(*table, "rows"))
    for (const auto& r : *rs)
      if (r.is_object()) {
        rows.push_back(printer.row(r.get_object()));
        last_row[rows.back()[common.all_namespaces && gvr->namespaced ? 1 : 0]] = rows.back();
      }
  if (rows.size() == 1 && o.name.empty()) {
    if (ns.empty())
      err << "No resources found\n";
    else
      err << "No resources found in " << ns << " namespace.\n";
  } else {
    TablePrinter::print(out, rows);
  }
  out.flush();
  if (!o.watch) return 0;
  std::string rv;
  if (const json::object* meta = GetObject(*table, "metadata"))
    rv = std::string(GetStringOr(*meta, "resourceVersion", ""));
  client::WatchOptions wo;
  wo.resource_version = rv;
  wo.label_selector = o.selector;
  if (!o.name.empty()) wo.field_selector = "metadata.name=" + o.name;
  if (o.watch_timeout.count() > 0) wo.timeout_seconds = o.watch_timeout.count();
  auto stream = s.dynamic->watch(*gvr, ns, wo);
  if (!stream) return Fail(err, stream.error());
  auto deadline = o.watch_timeout.count() > 0 ? SteadyClock::now() + o.watch_timeout : SteadyClock::time_point::max();
  while (SteadyClock::now() < deadline) {
    auto ev = (*stream)->next(std::chrono::milliseconds(500));
    if (!ev) return Fail(err, ev.error());
    if (!*ev) {
      if ((*stream)->ended()) break;
      continue;
    }
    if ((*ev)->type == "BOOKMARK" || !(*ev)->object.is_object()) continue;
    const json::object& obj = (*ev)->object.get_object();
    std::string name = NameOf(obj);
    std::string obj_ns;
    if (const json::object* m = GetObject(obj, "metadata")) obj_ns = std::string(GetStringOr(*m, "namespace", ""));
    std::vector<std::string> row;
    if ((*ev)->type == "DELETED") {
      auto it = last_row.find(name);
      if (it == last_row.end()) continue;
      row = it->second;
    } else {
      auto one = GetTable(s, *gvr, obj_ns, name, "");
      if (!one) continue;  // gone again already
      const json::array* rs = GetArray(*one, "rows");
      if (!rs || rs->empty() || !(*rs)[0].is_object()) continue;
      row = printer.row((*rs)[0].get_object());
      last_row[name] = row;
    }
    TablePrinter::print(out, {row});
    out.flush();
  }
  return 0;
}

int Apply(const CommonOptions& common, const ApplyOptions& o, std::ostream& out, std::ostream& err) {
  if (o.files.empty()) {
    err << "error: must specify one of -f\n";
    return 1;
  }
  auto manifests = ReadManifests(o.files);
  if (!manifests) return Fail(err, manifests.error(), false);
  auto session = Connect(common);
  if (!session) return Fail(err, session.error(), false);
  Session& s = *session;
  int rc = 0;
  for (auto& m : *manifests) {
    auto gvr = ResolveManifest(s, m.object);
    if (!gvr) {
      err << "error: resource mapping not found for \"" << NameOf(m.object) << "\" in " << m.source << ": "
          << gvr.error().message() << "\n";
      rc = 1;
      continue;
    }
    std::string ns;
    if (gvr->namespaced) {
      const json::object* meta = GetObject(m.object, "metadata");
      ns = meta ? std::string(GetStringOr(*meta, "namespace", "")) : "";
      if (ns.empty()) ns = s.ns;
    }
    std::string name = NameOf(m.object);
    std::string label = KindOf(*gvr) + "/" + name;
    auto existing = s.dynamic->get(*gvr, ns, name);
    if (!existing && existing.error().code() == StatusCode::kNotFound) {
      auto created = s.dynamic->create(*gvr, ns, m.object);
      if (!created) {
        err << "Error from server (" << created.error().reason() << "): error when creating \"" << m.source
            << "\": " << created.error().message() << "\n";
        rc = 1;
        continue;
      }
      out << label << " created\n";
      continue;
    }
    if (!existing) return Fail(err, existing.error());
    // Update: a merge patch of the manifest (status and server-owned metadata left alone).
    json::object patch = m.object;
    patch.erase("status");
    if (json::object* meta = GetObject(patch, "metadata"))
      for (const char* k : {"resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"})
        meta->erase(k);
    auto patched = s.dynamic->patch(*gvr, ns, name, client::PatchType::kMerge, json::serialize(patch));
    if (!patched) {
      err << "Error from server (" << patched.error().reason() << "): error when applying \"" << m.source
          << "\": " << patched.error().message() << "\n";
      rc = 1;
      continue;
    }
    auto rv = [](const json::object& obj) {
      const json::object* meta = GetObject(obj, "metadata");
      return meta ? std::string(GetStringOr(*meta, "resourceVersion", "")) : std::string();
    };
    out << label << (rv(*patched) == rv(*existing) ? " unchanged\n" : " configured\n");
  }
  return rc;
}

namespace {

// Watches one object until `done(object or nullptr when absent)` holds: true when it did, false
// at the deadline, an error when reading the object failed for another reason than NotFound.
Result<bool> WaitFor(Session& s, const GroupVersionResource& gvr, const std::string& ns, const std::string& name,
                     SteadyClock::time_point deadline, const std::function<bool(const json::object*)>& done) {
  while (SteadyClock::now() < deadline) {
    auto obj = s.dynamic->get(gvr, ns, name);
    if (!obj && obj.error().code() != StatusCode::kNotFound) return Err(obj.error());
    if (done(obj ? &*obj : nullptr)) return true;
    client::WatchOptions wo;
    if (obj)
      if (const json::object* meta = GetObject(*obj, "metadata"))
        wo.resource_version = std::string(GetStringOr(*meta, "resourceVersion", ""));
    wo.field_selector = "metadata.name=" + name;
    auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - SteadyClock::now()).count();
    wo.timeout_seconds = std::max<std::int64_t>(1, left);
    auto stream = s.dynamic->watch(gvr, ns, wo);
    if (!stream) continue;
    while (SteadyClock::now() < deadline) {
      auto ev = (*stream)->next(std::chrono::milliseconds(500));
      if (!ev) break;
      if (!*ev) {
        if ((*stream)->ended()) break;
        continue;
      }
      if ((*ev)->type == "DELETED") {
        if (done(nullptr)) return true;
      } else if ((*ev)->type != "BOOKMARK" && (*ev)->object.is_object() && done(&(*ev)->object.get_object())) {
        return true;
      }
    }
  }
  return false;
}

bool WaitGone(Session& s, const GroupVersionResource& gvr, const std::string& ns, const std::string& name,
              SteadyClock::time_point deadline) {
  auto r = WaitFor(s, gvr, ns, name, deadline, [](const json::object* o) { return o == nullptr; });
  return r && *r;
}

}  // namespace

int Delete(const CommonOptions& common, const DeleteOptions& o, std::ostream& out, std::ostream& err) {
  auto session = Connect(common);
  if (!session) return Fail(err, session.error(), false);
  Session& s = *session;
  struct Target {
    GroupVersionResource gvr;
    std::string ns, name;
  };
  std::vector<Target> targets;
  if (!o.files.empty()) {
    auto manifests = ReadManifests(o.files);
    if (!manifests) return Fail(err, manifests.error(), false);
    for (auto& m : *manifests) {
      auto gvr = ResolveManifest(s, m.object);
      if (!gvr) return Fail(err, gvr.error(), false);
      std::string ns;
      if (gvr->namespaced) {
        const json::object* meta = GetObject(m.object, "metadata");
        ns = meta ? std::string(GetStringOr(*meta, "namespace", "")) : "";
        if (ns.empty()) ns = s.ns;
      }
      targets.push_back({*gvr, ns, NameOf(m.object)});
    }
  } else {
    if (o.kind.empty() || o.names.empty()) {
      err << "error: resource(s) were provided, but no name was specified\n";
      return 1;
    }
    auto gvr = Resolve(s, o.kind);
    if (!gvr) return Fail(err, gvr.error(), false);
    for (const auto& n : o.names) targets.push_back({*gvr, gvr->namespaced ? s.ns : "", n});
  }
  int rc = 0;
  for (const auto& t : targets) {
    client::DeleteOptions d;
    d.propagation_policy = "Background";
    auto r = s.dynamic->remove(t.gvr, t.ns, t.name, d);
    if (!r) {
      if (r.error().code() == StatusCode::kNotFound && o.ignore_not_found) continue;
      Fail(err, r.error());
      rc = 1;
      continue;
    }
    out << Qualified(t.gvr) << " \"" << t.name << "\" deleted\n";
    out.flush();
    if (o.wait && !WaitGone(s, t.gvr, t.ns, t.name, SteadyClock::now() + o.timeout)) {
      err << "error: timed out waiting for " << Qualified(t.gvr) << " \"" << t.name << "\" to be deleted\n";
      rc = 1;
    }
  }
  return rc;
}

int Wait(const CommonOptions& common, const WaitOptions& o, std::ostream& out, std::ostream& err) {
  auto slash = o.target.find('/');
  if (slash == std::string::npos) {
    err << "error: the target must be KIND/NAME, got \"" << o.target << "\"\n";
    return 1;
  }
  std::string kind = o.target.substr(0, slash), name = o.target.substr(slash + 1);
  bool for_delete = o.for_ == "delete";
  std::string cond_type, cond_value = "True";
  if (!for_delete) {
    if (o.for_.rfind("condition=", 0) != 0) {
      err << "error: unrecognized condition: \"" << o.for_ << "\"\n";
      return 1;
    }
    cond_type = o.for_.substr(10);
    if (auto eq = cond_type.find('='); eq != std::string::npos) {
      cond_value = cond_type.substr(eq + 1);
      cond_type = cond_type.substr(0, eq);
    }
  }
  auto session = Connect(common);
  if (!session) return Fail(err, session.error(), false);
  Session& s = *session;
  auto gvr = Resolve(s, kind);
  if (!gvr) return Fail(err, gvr.error(), false);
  std::string ns = gvr->namespaced ? s.ns : "";
  auto deadline = SteadyClock::now() + o.timeout;
  std::string label = KindOf(*gvr) + "/" + name;
  if (for_delete) {
    if (WaitGone(s, *gvr, ns, name, deadline)) {
      out << label << " condition met\n";
      return 0;
    }
    err << "error: timed out waiting for the condition on " << label << "\n";
    return 1;
  }
  auto met = [&](const json::object& obj) {
    const json::object* status = GetObject(obj, "status");
    const json::array* conds = status ? GetArray(*status, "conditions") : nullptr;
    if (!conds) return false;
    for (const auto& c : *conds) {
      if (!c.is_object()) continue;
      std::string t(GetStringOr(c.get_object(), "type", ""));
      if (std::equal(t.begin(), t.end(), cond_type.begin(), cond_type.end(),
                     [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
        return GetStringOr(c.get_object(), "status", "") == cond_value;
    }
    return false;
  };
  auto result = WaitFor(s, *gvr, ns, name, deadline, [&](const json::object* o) { return o && met(*o); });
  if (!result) return Fail(err, result.error());
  if (*result) {
    out << label << " condition met\n";
    return 0;
  }
  err << "error: timed out waiting for the condition on " << label << "\n";
  return 1;
}

}  // namespace setpoint::cli
