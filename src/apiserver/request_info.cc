#include "apiserver/request_info.h"

#include <charconv>

namespace setpoint::apiserver {

namespace {
std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return parts;
}
}  // namespace

std::optional<RequestInfo> ParseRequestInfo(std::string_view method, std::string_view path, bool watch_param) {
  auto parts = SplitPath(path);
  RequestInfo ri;
  std::size_t pos;
  if (parts.size() >= 2 && parts[0] == "api") {
    ri.version = parts[1];
    pos = 2;
  } else if (parts.size() >= 3 && parts[0] == "apis") {
    ri.group = parts[1];
    ri.version = parts[2];
    pos = 3;
  } else {
    return std::nullopt;
  }
  std::vector<std::string> rest(parts.begin() + static_cast<long>(pos), parts.end());
  if (rest.empty()) return std::nullopt;
  ri.is_resource = true;
  if (rest[0] == "namespaces" && rest.size() >= 2) {
    if (rest.size() > 2 && rest[2] != "status" && rest[2] != "finalize") {
      ri.ns = rest[1];
      rest.erase(rest.begin(), rest.begin() + 2);
    }
  }
  if (rest.size() > 3) return std::nullopt;
  ri.resource = rest[0];
  if (rest.size() >= 2) ri.name = rest[1];
  if (rest.size() >= 3) ri.subresource = rest[2];
  if (method == "GET" || method == "HEAD") {
    if (ri.name.empty())
      ri.verb = watch_param ? "watch" : "list";
    else
      ri.verb = watch_param ? "watch" : "get";
  } else if (method == "POST") {
    ri.verb = "create";
  } else if (method == "PUT") {
    ri.verb = "update";
  } else if (method == "PATCH") {
    ri.verb = "patch";
  } else if (method == "DELETE") {
    ri.verb = ri.name.empty() ? "deletecollection" : "delete";
  } else {
    ri.verb = "";
  }
  return ri;
}

std::string UrlDecode(std::string_view s, bool plus_as_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else if (s[i] == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

QueryParams QueryParams::Parse(std::string_view query) {
  QueryParams q;
  std::size_t i = 0;
  while (i <= query.size() && !query.empty()) {
    std::size_t j = query.find('&', i);
    if (j == std::string_view::npos) j = query.size();
    std::string_view pair = query.substr(i, j - i);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      std::string k = UrlDecode(pair.substr(0, eq), true);
      std::string v = eq == std::string_view::npos ? "" : UrlDecode(pair.substr(eq + 1), true);
      q.params_.emplace_back(std::move(k), std::move(v));
    }
    if (j == query.size()) break;
    i = j + 1;
  }
  return q;
}

std::optional<std::string> QueryParams::get(std::string_view name) const {
  for (const auto& [k, v] : params_)
    if (k == name) return v;
  return std::nullopt;
}

bool QueryParams::flag(std::string_view name) const {
  // As Go's strconv.ParseBool, which kube-apiserver uses for boolean parameters.
  auto v = get(name);
  return v && (*v == "1" || *v == "t" || *v == "T" || *v == "true" || *v == "True" || *v == "TRUE");
}

std::optional<std::uint64_t> ParseUnsigned(std::string_view s) {
  if (s.empty() || s.front() < '0' || s.front() > '9') return std::nullopt;
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::uint64_t> ParseResourceVersion(std::string_view s) { return ParseUnsigned(s); }

}  // namespace setpoint::apiserver
