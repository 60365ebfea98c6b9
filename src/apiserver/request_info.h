// Parsing of API request paths and query strings into what a handler needs, following the
// Kubernetes RequestInfo rules (including the namespace status/finalize subresources).
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace setpoint::apiserver {

struct RequestInfo {
  bool is_resource = false;
  std::string verb;  // get list watch create update patch delete deletecollection
  std::string group;
  std::string version;
  std::string ns;
  std::string resource;
  std::string name;
  std::string subresource;
};

// Parses "/api/v1/..." and "/apis/<g>/<v>/..." paths; nullopt for anything else.
std::optional<RequestInfo> ParseRequestInfo(std::string_view method, std::string_view path, bool watch_param);

class QueryParams {
 public:
  static QueryParams Parse(std::string_view query);
  std::optional<std::string> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  bool flag(std::string_view name) const;  // "true" / "1"

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

std::string UrlDecode(std::string_view s, bool plus_as_space);

// A resourceVersion as every parameter and precondition carries it (upstream's
// strconv.ParseUint(s, 10, 64)): one or more decimal digits whose value fits in 64 unsigned bits,
// nothing else — no sign, no spaces, no clamping. nullopt when it does not parse.
std::optional<std::uint64_t> ParseResourceVersion(std::string_view s);
// The same for a plain non-negative integer parameter (limit, timeoutSeconds).
std::optional<std::uint64_t> ParseUnsigned(std::string_view s);

}  // namespace setpoint::apiserver
