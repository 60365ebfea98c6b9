// What every client command starts from: the kubeconfig loaded into a REST client, the
// namespace to use, kubectl's error wording, and resource-name resolution. Private to the CLI.
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "cli/cli.h"
#include "setpoint/client/dynamic_client.h"
#include "setpoint/client/rest_client.h"

namespace setpoint::cli {

struct Session {
  client::RestClientPtr rest;
  std::unique_ptr<client::DynamicClient> dynamic;
  std::string ns;
};

// "Error from server (NotFound): ..." as kubectl words it; client-side errors as "error: ...".
int Fail(std::ostream& err, const Status& s, bool from_server = true);
Result<Session> Connect(const CommonOptions& common);
// KIND may be a resource, kind, singular or short name, or "resource.group".
Result<client::GroupVersionResource> Resolve(Session& s, std::string_view kind);

}  // namespace setpoint::cli
