// Kubeconfig and in-cluster loading. yaml-cpp throws; every call into it stays inside this file
// behind a try block so the Status contract holds.
#include "setpoint/client/config.h"

#include "setpoint/common/base64.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace setpoint::client {
namespace {

namespace fs = std::filesystem;

Result<std::string> ReadFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Err(Status::NotFound(std::string(what) + " " + path + " cannot be read"));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// One named entry (cluster, user or context) with the directory of the file that defined it.
struct Entry {
  YAML::Node node;
  fs::path dir;
};

struct Merged {
  std::string current_context;
  std::map<std::string, Entry> clusters, users, contexts;
};

Status MergeList(const YAML::Node& root, const char* list_key, const char* item_key, const fs::path& dir,
                 const std::string& file, std::map<std::string, Entry>& out) {
  YAML::Node list = root[list_key];
  if (!list || list.IsNull()) return Status::Ok();
  if (!list.IsSequence()) return Status::BadRequest(file + ": '" + list_key + "' is not a list");
  for (const auto& item : list) {
    if (!item.IsMap() || !item["name"] || !item["name"].IsScalar())
      return Status::BadRequest(file + ": an entry of '" + list_key + "' has no name");
    std::string name = item["name"].as<std::string>();
    YAML::Node body = item[item_key];
    if (body && !body.IsNull() && !body.IsMap())
      return Status::BadRequest(file + ": " + list_key + " '" + name + "' is not a map");
    out.try_emplace(name, Entry{body ? body : YAML::Node(YAML::NodeType::Map), dir});
  }
  return Status::Ok();
}

Status MergeFile(const std::string& file, Merged& m) {
  auto text = ReadFile(file, "kubeconfig");
  if (!text) return text.error();
  try {
    YAML::Node root = YAML::Load(*text);
    if (root.IsNull()) return Status::Ok();  // an empty file contributes nothing, as in kubectl
    if (!root.IsMap()) return Status::BadRequest("kubeconfig " + file + " is not a YAML map");
    fs::path dir = fs::absolute(fs::path(file)).parent_path();
    if (m.current_context.empty() && root["current-context"] && root["current-context"].IsScalar())
      m.current_context = root["current-context"].as<std::string>();
    for (auto [list, item, out] :
         {std::tuple{"clusters", "cluster", &m.clusters}, std::tuple{"users", "user", &m.users},
          std::tuple{"contexts", "context", &m.contexts}}) {
      if (Status s = MergeList(root, list, item, dir, file, *out); !s.ok()) return s;
    }
  } catch (const YAML::Exception& e) {
    return Status::BadRequest("kubeconfig " + file + " is not valid YAML: " + e.what());
  }
  return Status::Ok();
}

std::string Str(const YAML::Node& n, const char* key) {
  YAML::Node v = n[key];
  return v && v.IsScalar() ? v.as<std::string>() : std::string();
}

std::string Resolve(const std::string& path, const fs::path& dir) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (dir / path).string();
}

Result<std::string> Base64Field(const YAML::Node& n, const char* key, const std::string& where) {
  std::string v = Str(n, key);
  if (v.empty()) return std::string();
  auto decoded = DecodeBase64(v);
  if (!decoded) return Err(Status::BadRequest(where + ": " + key + " is not valid base64"));
  return decoded;
}

std::vector<std::string> SplitPathList(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find(':', start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

Result<std::string> DecodeBase64(std::string_view text) { return Base64Decode(text); }

Result<RestConfig> LoadKubeconfig(const KubeconfigOptions& options) {
  auto env = [&](const char* name, const std::string& seam) -> std::string {
    if (!seam.empty() || options.ignore_environment) return seam;
    const char* v = std::getenv(name);
    return v ? v : "";
  };
  std::vector<std::string> files;
  if (!options.path.empty()) {
    files.push_back(options.path);
  } else if (std::string kc = env("KUBECONFIG", options.kubeconfig_env); !kc.empty()) {
    // kubectl skips files of KUBECONFIG that do not exist; all missing is an error.
    for (auto& f : SplitPathList(kc))
      if (fs::exists(f)) files.push_back(f);
    if (files.empty()) return Err(Status::NotFound("none of the KUBECONFIG files exist: " + kc));
  } else {
    std::string home = env("HOME", options.home);
    if (home.empty()) return Err(Status::NotFound("no kubeconfig: KUBECONFIG and HOME are unset"));
    files.push_back((fs::path(home) / ".kube" / "config").string());
  }

  Merged m;
  for (const auto& f : files)
    if (Status s = MergeFile(f, m); !s.ok()) return Err(std::move(s));

  std::string where = "kubeconfig " + files[0];
  for (std::size_t i = 1; i < files.size(); ++i) where += ":" + files[i];
  std::string ctx_name = options.context.empty() ? m.current_context : options.context;
  if (ctx_name.empty()) return Err(Status::NotFound(where + ": no current-context and no context given"));
  auto ctx = m.contexts.find(ctx_name);
  if (ctx == m.contexts.end()) return Err(Status::NotFound(where + ": context \"" + ctx_name + "\" not found"));

  RestConfig c;
  try {
    std::string cluster_name = Str(ctx->second.node, "cluster");
    auto cluster = m.clusters.find(cluster_name);
    if (cluster == m.clusters.end())
      return Err(
          Status::NotFound(where + ": cluster \"" + cluster_name + "\" of context \"" + ctx_name + "\" not found"));
    const YAML::Node& cl = cluster->second.node;
    c.server = Str(cl, "server");
    if (c.server.empty()) return Err(Status::BadRequest(where + ": cluster \"" + cluster_name + "\" has no server"));
    c.ca_file = Resolve(Str(cl, "certificate-authority"), cluster->second.dir);
    auto ca = Base64Field(cl, "certificate-authority-data", where);
    if (!ca) return Err(ca.error());
    c.ca_data = std::move(*ca);
    c.insecure_skip_tls_verify = Str(cl, "insecure-skip-tls-verify") == "true";

    if (std::string user_name = Str(ctx->second.node, "user"); !user_name.empty()) {
      auto user = m.users.find(user_name);
      if (user == m.users.end())
        return Err(Status::NotFound(where + ": user \"" + user_name + "\" of context \"" + ctx_name + "\" not found"));
      const YAML::Node& u = user->second.node;
      const fs::path& dir = user->second.dir;
      c.cert_file = Resolve(Str(u, "client-certificate"), dir);
      c.key_file = Resolve(Str(u, "client-key"), dir);
      auto cert = Base64Field(u, "client-certificate-data", where);
      if (!cert) return Err(cert.error());
      c.cert_data = std::move(*cert);
      auto key = Base64Field(u, "client-key-data", where);
      if (!key) return Err(key.error());
      c.key_data = std::move(*key);
      c.token = Str(u, "token");
      c.token_file = Resolve(Str(u, "tokenFile"), dir);
    }
    if (std::string ns = Str(ctx->second.node, "namespace"); !ns.empty()) c.namespace_ = ns;
  } catch (const YAML::Exception& e) {
    return Err(Status::BadRequest(where + ": " + e.what()));
  }
  return c;
}

Result<RestConfig> InClusterConfig(const InClusterOptions& options) {
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v ? v : "";
  };
  std::string host = options.host.empty() ? env("KUBERNETES_SERVICE_HOST") : options.host;
  std::string port = options.port.empty() ? env("KUBERNETES_SERVICE_PORT") : options.port;
  if (host.empty() || port.empty())
    return Err(Status::NotFound("not in a cluster: KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT are unset"));
  RestConfig c;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";  // IPv6 literal
  c.server = "https://" + host + ":" + port;
  auto token = ReadFile(options.token_path, "service account token");
  if (!token) return Err(token.error());
  c.token = Trim(std::move(*token));
  c.token_file = options.token_path;
  if (!fs::exists(options.ca_path))
    return Err(Status::NotFound("service account CA " + options.ca_path + " does not exist"));
  c.ca_file = options.ca_path;
  if (auto ns = ReadFile(options.namespace_path, "namespace"); ns && !Trim(*ns).empty()) c.namespace_ = Trim(*ns);
  return c;
}

}  // namespace setpoint::client
