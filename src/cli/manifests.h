// Reading manifests for `setpoint apply/delete -f`: files, directories and stdin holding
// multi-document YAML or JSON (a JSON List's items are expanded). Pure parsing plus file reads.
#pragma once

#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "setpoint/common/status.h"

namespace setpoint::cli {

struct Manifest {
  std::string source;  // file name (or "STDIN") for messages
  boost::json::object object;
};

// Splits text into documents ("---" lines), parses each as YAML (JSON is YAML), skips empty ones.
Result<std::vector<Manifest>> ParseManifests(const std::string& text, const std::string& source);
// Reads every "-", file, or *.yaml/*.yml/*.json file of a directory (sorted), in order.
Result<std::vector<Manifest>> ReadManifests(const std::vector<std::string>& paths);

}  // namespace setpoint::cli
