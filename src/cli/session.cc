#include "cli/session.h"

#include <cstdlib>

#include "setpoint/client/config.h"

namespace setpoint::cli {

int Fail(std::ostream& err, const Status& s, bool from_server) {
  if (from_server && s.code() != StatusCode::kUnavailable)
    err << "Error from server (" << s.reason() << "): " << s.message() << "\n";
  else
    err << "error: " << s.message() << "\n";
  return 1;
}

Result<Session> Connect(const CommonOptions& common) {
  client::KubeconfigOptions ko;
  ko.path = common.kubeconfig;
  ko.context = common.context;
  if (const char* env = std::getenv("KUBECONFIG")) ko.kubeconfig_env = env;
  if (const char* home = std::getenv("HOME")) ko.home = home;
  auto config = client::LoadKubeconfig(ko);
  if (!config) return Err(config.error());
  Session s;
  s.ns = common.ns.empty() ? (config->namespace_.empty() ? "default" : config->namespace_) : common.ns;
  auto rest = client::RestClient::Create(*config);
  if (!rest) return Err(rest.error());
  s.rest = std::move(*rest);
  s.dynamic = std::make_unique<client::DynamicClient>(*s.rest);
  return s;
}

Result<client::GroupVersionResource> Resolve(Session& s, std::string_view kind) {
  auto found = client::Discover(*s.rest, kind);
  if (found) return found;
  auto dot = kind.find('.');
  if (dot != std::string_view::npos) {
    auto inner = client::Discover(*s.rest, kind.substr(0, dot));
    if (inner && inner->group == kind.substr(dot + 1)) return inner;
  }
  return Err(Status::NotFound("the server doesn't have a resource type \"" + std::string(kind) + "\""));
}

}  // namespace setpoint::cli
