// setpoint describe: kubectl's generic describer (the one it uses for custom resources), for every kind.
// The text is produced the way kubectl produces it — "Key:\tvalue" lines, two spaces of indent
// per level — and then aligned by a copy of Go's text/tabwriter, so the output matches kubectl's
// byte for byte, including its quirks (a column block runs across nesting levels; list items
// follow each other without a separator).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>

#include <boost/json.hpp>

#include "cli/cli.h"
#include "cli/session.h"
#include "setpoint/client/dynamic_client.h"
#include "setpoint/client/rest_client.h"
#include "setpoint/common/clock.h"
#include "setpoint/common/json.h"
#include "setpoint/types/core_v1.h"

namespace setpoint::cli {

namespace json = boost::json;
using client::GroupVersionResource;

namespace {

// Cell widths count runes, as Go's tabwriter does.
std::size_t RuneCount(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// Go's text/tabwriter as kubectl's describers configure it (minwidth 0, padding 2, padchar ' ',
// no flags). Cells end with '\t'; the text after a line's last tab belongs to no column.
// Consecutive lines that have a cell in column k form a block, whose column k is as wide as its
// widest cell plus 2; blocks nest, column by column.
class TabWriter {
 public:
  static std::string Format(std::string_view text) {
    TabWriter w;
    std::size_t start = 0;
    for (;;) {
      auto nl = text.find('\n', start);
      std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
      std::vector<std::string_view> cells;
      for (std::size_t c = 0;;) {
        auto tab = line.find('\t', c);
        cells.push_back(line.substr(c, tab == std::string_view::npos ? std::string_view::npos : tab - c));
        if (tab == std::string_view::npos) break;
        c = tab + 1;
      }
      w.lines_.push_back(std::move(cells));
      if (nl == std::string_view::npos) break;
      start = nl + 1;
    }
    w.format(0, w.lines_.size());
    return std::move(w.out_);
  }

 private:
  void format(std::size_t line0, std::size_t line1) {
    std::size_t column = widths_.size();
    for (std::size_t i = line0; i < line1; ++i) {
      if (column + 1 >= lines_[i].size()) continue;  // no cell in this column
      write(line0, i);
      line0 = i;
      std::size_t width = 0;
      for (; i < line1 && column + 1 < lines_[i].size(); ++i) width = std::max(width, RuneCount(lines_[i][column]) + 2);
      widths_.push_back(width);
      format(line0, i);
      widths_.pop_back();
      line0 = i;
    }
    write(line0, line1);
  }
  void write(std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) {
      const auto& cells = lines_[i];
      for (std::size_t j = 0; j < cells.size(); ++j) {
        out_ += cells[j];
        if (j < widths_.size()) out_.append(widths_[j] - RuneCount(cells[j]), ' ');
      }
      if (i + 1 < lines_.size()) out_ += '\n';
    }
  }

  std::vector<std::vector<std::string_view>> lines_;
  std::vector<std::size_t> widths_;
  std::string out_;
};

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }

// kubectl's smartLabelFor: "observedGeneration" → "Observed Generation", "apiVersion" → "API
// Version"; a field with anything but letters and '-' is shown as it is ("openAPIV3Schema").
// Words are split like github.com/fatih/camelcase ("podIPs" → "Pod I Ps", as kubectl shows it).
// Only ASCII letters count as letters here; kubectl would also split non-ASCII ones.
std::string SmartLabel(std::string_view field) {
  if (std::any_of(field.begin(), field.end(), [](char c) { return !IsLower(c) && !IsUpper(c) && c != '-'; }))
    return std::string(field);
  std::vector<std::string> runs;
  int last = 0;
  for (char c : field) {
    int cls = IsLower(c) ? 1 : IsUpper(c) ? 2 : 3;
    if (cls == last)
      runs.back() += c;
    else
      runs.emplace_back(1, c);
    last = cls;
  }
  // An upper-case run followed by a lower-case one gives it its last letter: "APIVersion" →
  // "API", "Version".
  for (std::size_t i = 0; i + 1 < runs.size(); ++i)
    if (!runs[i].empty() && IsUpper(runs[i][0]) && IsLower(runs[i + 1][0])) {
      runs[i + 1].insert(runs[i + 1].begin(), runs[i].back());
      runs[i].pop_back();
    }
  std::string label;
  for (auto& part : runs) {
    if (part.empty()) continue;
    std::string upper = part;
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    if (upper == "API" || upper == "URL" || upper == "UID" || upper == "OSB" || upper == "GUID")
      part = upper;
    else if (IsLower(part[0]))
      part[0] = static_cast<char>(part[0] - 'a' + 'A');
    if (!label.empty()) label += ' ';
    label += part;
  }
  return label;
}

// A float as Go's %v prints it (kubectl decodes non-integral JSON numbers as float64): the
// shortest digits, in exponent form when the exponent is below -4 or at least 6 ("1e+06").
std::string GoFloat(double f) {
  if (f == 0) return std::signbit(f) ? "-0" : "0";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));  // "-1.2345e+06"
  bool neg = sci.front() == '-';
  if (neg) sci.remove_prefix(1);
  auto e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e))
    if (c != '.') digits += c;
  int exp = std::atoi(std::string(sci.substr(e + 1)).c_str());
  std::string out = neg ? "-" : "";
  int nd = static_cast<int>(digits.size());
  if (exp < -4 || exp >= 6) {
    out += digits[0];
    if (nd > 1) out += "." + digits.substr(1);
    out += exp < 0 ? "e-" : "e+";
    std::string x = std::to_string(std::abs(exp));
    if (x.size() < 2) x = "0" + x;
    return out + x;
  }
  int dp = exp + 1;  // digits before the decimal point
  if (dp <= 0) {
    out += "0." + std::string(static_cast<std::size_t>(-dp), '0') + digits;
  } else if (dp >= nd) {
    out += digits + std::string(static_cast<std::size_t>(dp - nd), '0');
  } else {
    out += digits.substr(0, static_cast<std::size_t>(dp)) + "." + digits.substr(static_cast<std::size_t>(dp));
  }
  return out;
}

// A JSON value as Go's %v prints the unstructured value kubectl decoded it into.
std::string GoValue(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "<nil>";
    case json::kind::bool_:
      return v.get_bool() ? "true" : "false";
    case json::kind::int64:
      return std::to_string(v.get_int64());
    case json::kind::uint64:
      if (v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return std::to_string(v.get_uint64());
      return GoFloat(static_cast<double>(v.get_uint64()));
    case json::kind::double_:
      return GoFloat(v.get_double());
    case json::kind::string:
      return std::string(v.get_string());
    case json::kind::array: {
      const auto& a = v.get_array();
      std::string s = "[";
      for (std::size_t i = 0; i < a.size(); ++i) s += (i ? " " : "") + GoValue(a[i]);
      return s + "]";
    }
    case json::kind::object: {
      std::vector<std::pair<std::string_view, const json::value*>> kv;
      for (const auto& e : v.get_object()) kv.emplace_back(e.key(), &e.value());
      std::sort(kv.begin(), kv.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      std::string s = "map[";
      for (std::size_t i = 0; i < kv.size(); ++i)
        s += (i ? " " : "") + std::string(kv[i].first) + ":" + GoValue(*kv[i].second);
      return s + "]";
    }
  }
  return "";
}

std::vector<std::string_view> SortedKeys(const json::object& o) {
  std::vector<std::string_view> keys;
  for (const auto& kv : o) keys.push_back(kv.key());
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::string Indent(int level) { return std::string(static_cast<std::size_t>(2 * level), ' '); }

// kubectl's printUnstructuredContent: fields sorted, maps as nested blocks, lists item after
// item (maps nested, anything else one per line), scalars as "Label:\tvalue". `path` is the
// dotted path of `content` (list items share their list's path), matched against `skip`.
void DescribeContent(std::string& w, int level, const json::object& content, const std::string& path,
                     const std::vector<std::string>& skip) {
  for (auto key : SortedKeys(content)) {
    const json::value& value = content.at(key);
    std::string field_path = path + "." + std::string(key);
    if (std::find(skip.begin(), skip.end(), field_path) != skip.end()) continue;
    if (value.is_object()) {
      w += Indent(level) + SmartLabel(key) + ":\n";
      DescribeContent(w, level + 1, value.get_object(), field_path, skip);
    } else if (value.is_array()) {
      w += Indent(level) + SmartLabel(key) + ":\n";
      for (const auto& item : value.get_array()) {
        if (item.is_object())
          DescribeContent(w, level + 1, item.get_object(), field_path, skip);
        else
          w += Indent(level + 1) + GoValue(item) + "\n";
      }
    } else {
      w += Indent(level) + SmartLabel(key) + ":\t" + GoValue(value) + "\n";
    }
  }
}

std::string StringValue(const json::value& v) { return v.is_string() ? std::string(v.get_string()) : GoValue(v); }

// "Labels:\tk=v", further labels on their own lines in the value column; "<none>" when empty.
void DescribeLabels(std::string& w, const json::object* labels) {
  w += "Labels:\t";
  if (!labels || labels->empty()) {
    w += "<none>\n";
    return;
  }
  bool first = true;
  for (auto key : SortedKeys(*labels)) {
    if (!first) w += "\t";
    first = false;
    w += std::string(key) + "=" + StringValue(labels->at(key)) + "\n";
  }
}

// kubectl's printAnnotationsMultiline: the last-applied-configuration is left out; a value
// with a newline, or one that with its key is over 140 characters, goes below its key, each
// line cut at 138 characters.
void DescribeAnnotations(std::string& w, const json::object* annotations) {
  constexpr std::size_t kMaxLen = 140;
  w += "Annotations:\t";
  std::vector<std::string_view> keys;
  if (annotations)
    for (auto key : SortedKeys(*annotations))
      if (key != "kubectl.kubernetes.io/last-applied-configuration") keys.push_back(key);
  if (keys.empty()) {
    w += "<none>\n";
    return;
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i) w += "\t";
    std::string value = StringValue(annotations->at(keys[i]));
    if (!value.empty() && value.back() == '\n') value.pop_back();
    if (value.size() + keys[i].size() + 2 > kMaxLen || value.find('\n') != std::string::npos) {
      w += std::string(keys[i]) + ":\n";
      std::size_t start = 0;
      for (;;) {
        auto nl = value.find('\n', start);
        std::string part = value.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
        if (part.size() > kMaxLen - 2) part = part.substr(0, kMaxLen - 2) + "...";
        w += "\t  " + part + "\n";
        if (nl == std::string::npos) break;
        start = nl + 1;
      }
    } else {
      w += std::string(keys[i]) + ": " + value + "\n";
    }
  }
}

std::optional<WallTime> TimeField(const json::object& o, std::string_view key) {
  auto s = GetString(o, key);
  if (!s || s->empty()) return std::nullopt;
  return ParseRfc3339(*s);
}

// kubectl's translateTimestampSince: a human age, "<unknown>" for a missing time.
std::string Since(std::optional<WallTime> t, WallTime now) {
  if (!t) return "<unknown>";
  return HumanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - *t));
}

// kubectl's DescribeEvents: oldest first (by series.lastObservedTime, else lastTimestamp, else
// eventTime); the age of the first occurrence, or "<last> (xN over <first>)" for repeats.
void DescribeEvents(std::string& w, std::vector<json::object> events) {
  if (events.empty()) {
    w += "Events:\t<none>\n";
    return;
  }
  auto sort_time = [](const json::object& e) {
    if (const json::object* series = GetObject(e, "series"))
      if (auto t = TimeField(*series, "lastObservedTime")) return *t;
    if (auto t = TimeField(e, "lastTimestamp")) return *t;
    return TimeField(e, "eventTime").value_or(WallTime{});
  };
  std::stable_sort(events.begin(), events.end(),
                   [&](const json::object& a, const json::object& b) { return sort_time(a) < sort_time(b); });
  WallTime now = std::chrono::system_clock::now();
  w += "Events:\n  Type\tReason\tAge\tFrom\tMessage\n  ----\t------\t----\t----\t-------\n";
  for (const auto& e : events) {
    auto first_time = TimeField(e, "eventTime");
    if (!first_time) first_time = TimeField(e, "firstTimestamp");
    std::string first = Since(first_time, now);
    std::string age = first;
    auto count = GetInt(e, "count").value_or(0);
    if (const json::object* series = GetObject(e, "series")) {
      age = Since(TimeField(*series, "lastObservedTime"), now) + " (x" +
            std::to_string(GetInt(*series, "count").value_or(0)) + " over " + first + ")";
    } else if (count > 1) {
      age = Since(TimeField(e, "lastTimestamp"), now) + " (x" + std::to_string(count) + " over " + first + ")";
    }
    std::string from;
    if (const json::object* source = GetObject(e, "source")) from = std::string(GetStringOr(*source, "component", ""));
    if (from.empty()) from = std::string(GetStringOr(e, "reportingController", ""));
    std::string message(GetStringOr(e, "message", ""));
    constexpr std::string_view kSpace = " \t\n\r\v\f";
    auto begin = message.find_first_not_of(kSpace);
    message = begin == std::string::npos ? "" : message.substr(begin, message.find_last_not_of(kSpace) + 1 - begin);
    w += "  " + std::string(GetStringOr(e, "type", "")) + "\t" + std::string(GetStringOr(e, "reason", "")) + "\t" +
         age + "\t" + from + "\t" + message + "\n";
  }
}

const GroupVersionResource& kEvents = setpoint::types::GvrOf<setpoint::corev1::Event>();

// The Events whose involvedObject.uid is the object's (in its namespace when it has one), or
// nullopt when they cannot be listed — kubectl then leaves the Events section out.
std::optional<std::vector<json::object>> EventsFor(Session& s, const json::object& obj) {
  const json::object* meta = GetObject(obj, "metadata");
  std::string uid(meta ? GetStringOr(*meta, "uid", "") : "");
  std::string ns(meta ? GetStringOr(*meta, "namespace", "") : "");
  if (uid.empty()) return std::vector<json::object>{};
  client::ListOptions lo;
  lo.field_selector = "involvedObject.uid=" + uid;
  if (!ns.empty()) lo.field_selector += ",involvedObject.namespace=" + ns;
  auto list = s.dynamic->list(kEvents, ns, lo);
  if (!list) return std::nullopt;
  return std::move(list->items);
}

std::string DescribeObject(Session& s, const GroupVersionResource& gvr, json::object obj, bool show_events) {
  // List items of built-in kinds may come without their type.
  if (!obj.contains("apiVersion")) obj["apiVersion"] = gvr.api_version();
  if (!obj.contains("kind") && !gvr.kind.empty()) obj["kind"] = gvr.kind;
  const json::object* meta = GetObject(obj, "metadata");
  std::string w;
  w += "Name:\t" + std::string(meta ? GetStringOr(*meta, "name", "") : "") + "\n";
  w += "Namespace:\t" + std::string(meta ? GetStringOr(*meta, "namespace", "") : "") + "\n";
  DescribeLabels(w, meta ? GetObject(*meta, "labels") : nullptr);
  DescribeAnnotations(w, meta ? GetObject(*meta, "annotations") : nullptr);
  DescribeContent(w, 0, obj, "",
                  {".metadata.managedFields", ".metadata.name", ".metadata.namespace", ".metadata.labels",
                   ".metadata.annotations"});
  if (show_events)
    if (auto events = EventsFor(s, obj)) DescribeEvents(w, std::move(*events));
  return TabWriter::Format(w);
}

}  // namespace

int Describe(const CommonOptions& common, const DescribeOptions& o, std::ostream& out, std::ostream& err) {
  if (!o.names.empty() && !o.selector.empty()) {
    err << "error: name cannot be provided when a selector is specified\n";
    return 1;
  }
  if (!o.names.empty() && common.all_namespaces) {
    err << "error: a resource cannot be retrieved by name across all namespaces\n";
    return 1;
  }
  auto session = Connect(common);
  if (!session) return Fail(err, session.error(), false);
  Session& s = *session;
  auto gvr = Resolve(s, o.kind);
  if (!gvr) return Fail(err, gvr.error(), false);
  std::string ns = gvr->namespaced && !common.all_namespaces ? s.ns : "";
  auto list = [&](const std::string& selector) {
    client::ListOptions lo;
    lo.label_selector = selector;
    return s.dynamic->list(*gvr, ns, lo);
  };
  bool first = true;
  auto print = [&](json::object obj) {
    out << (first ? "" : "\n\n") << DescribeObject(s, *gvr, std::move(obj), o.show_events);
    out.flush();
    first = false;
  };
  if (o.names.empty()) {
    auto objects = list(o.selector);
    if (!objects) return Fail(err, objects.error());
    if (objects->items.empty()) {
      if (ns.empty())
        err << "No resources found\n";
      else
        err << "No resources found in " << ns << " namespace.\n";
      return 0;
    }
    for (auto& obj : objects->items) print(std::move(obj));
    return 0;
  }
  std::vector<Status> errors;
  for (const auto& name : o.names) {
    auto obj = s.dynamic->get(*gvr, ns, name);
    if (obj) {
      print(std::move(*obj));
      continue;
    }
    // Like kubectl, one name that does not exist describes the objects whose names start with it.
    if (obj.error().code() == StatusCode::kNotFound && o.names.size() == 1) {
      auto objects = list("");
      bool found = false;
      if (objects)
        for (auto& candidate : objects->items)
          if (const json::object* m = GetObject(candidate, "metadata");
              m && GetStringOr(*m, "name", "").starts_with(name)) {
            out << DescribeObject(s, *gvr, std::move(candidate), o.show_events) << "\n";
            found = true;
          }
      if (found) return 0;
    }
    errors.push_back(obj.error());
  }
  for (const auto& e : errors) Fail(err, e);
  return errors.empty() ? 0 : 1;
}

}  // namespace setpoint::cli
