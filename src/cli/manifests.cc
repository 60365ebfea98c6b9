#include "cli/manifests.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "setpoint/api/yaml.h"
#include "setpoint/common/json.h"

namespace setpoint::cli {

namespace json = boost::json;

Result<std::vector<Manifest>> ParseManifests(const std::string& text, const std::string& source) {
  std::vector<Manifest> out;
  std::vector<std::string> docs;
  std::string current;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("---", 0) == 0 && (line.size() == 3 || line[3] == ' ' || line[3] == '\r')) {
      docs.push_back(std::move(current));
      current.clear();
      continue;
    }
    current += line;
    current.push_back('\n');
  }
  docs.push_back(std::move(current));
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const std::string& doc = docs[i];
    if (doc.find_first_not_of(" \t\r\n") == std::string::npos) continue;
    auto v = api::YamlToJson(doc);
    if (!v) return Err(Status::BadRequest("error parsing " + source + ": " + v.error().message()));
    if (v->is_null()) continue;  // a document of comments only
    if (!v->is_object()) return Err(Status::BadRequest("error parsing " + source + ": a manifest must be an object"));
    json::object& obj = v->get_object();
    if (GetStringOr(obj, "kind", "").ends_with("List") && GetArray(obj, "items")) {
      for (auto& item : obj["items"].get_array())
        if (item.is_object()) out.push_back({source, std::move(item.get_object())});
      continue;
    }
    out.push_back({source, std::move(obj)});
  }
  return out;
}

Result<std::vector<Manifest>> ReadManifests(const std::vector<std::string>& paths) {
  std::vector<Manifest> out;
  auto add_text = [&](const std::string& text, const std::string& source) -> Status {
    auto parsed = ParseManifests(text, source);
    if (!parsed) return parsed.error();
    for (auto& m : *parsed) out.push_back(std::move(m));
    return Status::Ok();
  };
  auto read_file = [&](const std::filesystem::path& p) -> Status {
    std::ifstream f(p, std::ios::binary);
    if (!f) return Status::NotFound("the path \"" + p.string() + "\" does not exist");
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    return add_text(text, p.string());
  };
  for (const auto& path : paths) {
    if (path == "-") {
      std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
      if (Status s = add_text(text, "STDIN"); !s.ok()) return Err(s);
      continue;
    }
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& e : std::filesystem::directory_iterator(path, ec)) {
        auto ext = e.path().extension().string();
        if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files)
        if (Status s = read_file(f); !s.ok()) return Err(s);
      continue;
    }
    if (Status s = read_file(path); !s.ok()) return Err(s);
  }
  return out;
}

}  // namespace setpoint::cli
