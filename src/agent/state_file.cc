#include "agent/state_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "setpoint/common/json.h"

namespace setpoint::agent {

namespace json = boost::json;

namespace {

Status WriteAll(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Internal(std::string("write: ") + std::strerror(errno));
    }
    off += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<ProcessRecord>> LoadState(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::vector<ProcessRecord>{};
  std::stringstream ss;
  ss << in.rdbuf();
  auto parsed = ParseJson(ss.str());
  if (!parsed || !parsed->is_object()) return Err(Status::Internal("agent state " + path + " is not valid JSON"));
  std::vector<ProcessRecord> out;
  const json::array* items = GetArray(parsed->get_object(), "processes");
  if (!items) return out;
  for (const auto& v : *items) {
    if (!v.is_object()) continue;
    const json::object& o = v.get_object();
    ProcessRecord r;
    r.uid = std::string(GetStringOr(o, "uid", ""));
    r.ns = std::string(GetStringOr(o, "namespace", ""));
    r.name = std::string(GetStringOr(o, "name", ""));
    r.restarts = static_cast<int>(GetInt(o, "restarts").value_or(0));
    if (const json::array* ports = GetArray(o, "ports"))
      for (const auto& p : *ports)
        if (p.is_object())
          r.ports.push_back({std::string(GetStringOr(p.get_object(), "name", "")),
                             static_cast<int>(GetInt(p.get_object(), "port").value_or(0)),
                             std::string(GetStringOr(p.get_object(), "address", ""))});
    if (const json::array* epochs = GetArray(o, "epochs"))
      for (const auto& e : *epochs) {
        if (!e.is_object()) continue;
        const json::object& eo = e.get_object();
        EpochRecord er;
        er.epoch = static_cast<int>(GetInt(eo, "epoch").value_or(0));
        er.id.pid = static_cast<pid_t>(GetInt(eo, "pid").value_or(0));
        er.id.start_time = static_cast<std::uint64_t>(GetInt(eo, "startTime").value_or(0));
        er.id.boot_id = std::string(GetStringOr(eo, "bootID", ""));
        er.config = std::string(GetStringOr(eo, "config", ""));
        er.generation = GetInt(eo, "generation").value_or(0);
        er.started_unix_ms = GetInt(eo, "startedUnixMs").value_or(0);
        r.epochs.push_back(std::move(er));
      }
    if (!r.uid.empty()) out.push_back(std::move(r));
  }
  return out;
}

Status SaveState(const std::string& path, const std::vector<ProcessRecord>& records) {
  json::array items;
  for (const auto& r : records) {
    json::array ports, epochs;
    for (const auto& p : r.ports) ports.push_back({{"name", p.name}, {"port", p.port}, {"address", p.address}});
    for (const auto& e : r.epochs)
      epochs.push_back({{"epoch", e.epoch},
                        {"pid", e.id.pid},
                        {"startTime", static_cast<std::int64_t>(e.id.start_time)},
                        {"bootID", e.id.boot_id},
                        {"config", e.config},
                        {"generation", e.generation},
                        {"startedUnixMs", e.started_unix_ms}});
    items.push_back({{"uid", r.uid},
                     {"namespace", r.ns},
                     {"name", r.name},
                     {"restarts", r.restarts},
                     {"ports", std::move(ports)},
                     {"epochs", std::move(epochs)}});
  }
  std::string data = json::serialize(json::object{{"version", 1}, {"processes", std::move(items)}});
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Internal("open " + tmp + ": " + std::strerror(errno));
  Status s = WriteAll(fd, data);
  if (s.ok() && ::fsync(fd) != 0) s = Status::Internal("fsync " + tmp + ": " + std::strerror(errno));
  ::close(fd);
  if (!s.ok()) return s;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Status::Internal("rename " + tmp + ": " + std::strerror(errno));
  std::string dir = path.substr(0, path.rfind('/') == std::string::npos ? 0 : path.rfind('/'));
  if (dir.empty()) dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

}  // namespace setpoint::agent
