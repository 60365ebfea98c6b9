// `setpoint logs NAME [-f] [--tail N] [--epoch E]`: a Process's output, through the API server's
// processes/NAME/log subresource (which proxies to the agent that runs it), like `kubectl logs`.
#include <iostream>

#include "cli/cli.h"
#include "cli/session.h"

namespace setpoint::cli {

int Logs(const CommonOptions& common, const LogsOptions& o, std::ostream& out, std::ostream& err) {
  auto session = Connect(common);
  if (!session) return Fail(err, session.error(), false);
  std::string name = o.name;
  if (auto slash = name.find('/'); slash != std::string::npos) {
    const std::string kind = name.substr(0, slash);
    if (kind != "process" && kind != "processes" && kind != "proc" && kind != "process.setpoint.dev") {
      err << "error: logs are served for processes only, not \"" << kind << "\"\n";
      return 1;
    }
    name = name.substr(slash + 1);
  }
  if (name.empty()) {
    err << "error: a process name is required\n";
    return 1;
  }
  std::string path = "/apis/setpoint.dev/v1alpha1/namespaces/" + session->ns + "/processes/" + name + "/log";
  std::string query;
  if (o.follow) query += "&follow=true";
  if (o.tail >= 0) query += "&tailLines=" + std::to_string(o.tail);
  if (o.epoch >= 0) query += "&epoch=" + std::to_string(o.epoch);
  if (o.limit_bytes > 0) query += "&limitBytes=" + std::to_string(o.limit_bytes);
  if (!query.empty()) path += "?" + query.substr(1);
  if (!o.follow) {
    auto r = session->rest->request(client::Method::kGet, path);
    if (!r) return Fail(err, r.error());
    out << r->body << std::flush;
    return 0;
  }
  auto stream = session->rest->stream(path);
  if (!stream) return Fail(err, stream.error());
  for (;;) {
    auto chunk = (*stream)->next(std::chrono::seconds(1));
    if (!chunk) return Fail(err, chunk.error(), false);
    if (!*chunk) return 0;
    if (!(*chunk)->empty()) out << **chunk << std::flush;
    if (!out) return 1;
  }
}

}  // namespace setpoint::cli
