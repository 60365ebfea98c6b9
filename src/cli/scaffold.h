// `setpoint init-operator`: writes a new operator project for one custom kind — a CRD, a sample
// object, a reconciler in the shape of the Operator SDK's Memcached tutorial (conditions, a
// finalizer, events), its main(), a test on the SDK's test kit and a README — that builds against
// the *installed* SDK (find_package(setpoint)) and whose test passes as generated.
//
// Three layers, each usable on its own: DeriveNames() validates the user's input and works out
// every name the project uses; RenderOperatorProject() turns those names into file contents (pure,
// no I/O); InitOperator() checks the directory, writes the files and reports. Stateless;
// thread-compatible.
#pragma once

#include <iosfwd>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "setpoint/common/status.h"

namespace setpoint::cli {

struct InitOperatorOptions {
  std::string dir;      // where the project goes: must not exist, or be empty, unless `force`
  std::string group;    // API group, a DNS subdomain with at least one dot: "cache.example.com"
  std::string version;  // v1, v1alpha1, v2beta3, ...
  std::string kind;     // UpperCamelCase: "Memcached"
  std::string plural;   // empty: derived from the kind ("memcacheds", "policies", "boxes")
  bool cluster_scoped = false;
  bool force = false;  // write into a non-empty directory, replacing the files of the same names
};

// Every name of the generated project, derived from the options.
struct OperatorNames {
  std::string group, version, kind;
  std::string singular;       // lower case kind: "memcached", "storagepolicy"
  std::string plural;         // "memcacheds", "storagepolicies"
  std::string snake;          // file and C++ base name: "memcached", "storage_policy"
  std::string kebab;          // "memcached", "storage-policy"
  std::string cxx_namespace;  // "memcached_operator"
  std::string program;        // the operator's executable and Lease name: "memcached-operator"
  bool namespaced = true;
};

// Invalid, with a message that says what is wrong and what would be right, for a bad group,
// version, kind or plural. Does not look at the directory.
Result<OperatorNames> DeriveNames(const InitOperatorOptions& options);

// The default plural of a lower-case singular, as kubebuilder guesses it: "policy" → "policies"
// (but "gateway" → "gateways"), "box"/"bus"/"match"/"mesh" → "boxes"/"buses"/..., else + "s".
std::string DefaultPlural(std::string_view singular);
// "StoragePolicy" → "storage_policy", "HTTPRoute" → "http_route", "S3Bucket" → "s3_bucket".
std::string SnakeCase(std::string_view kind);

struct ProjectFile {
  std::string path;  // relative to the project directory, '/'-separated
  std::string content;
};
// The files of the project, in a stable order. An error means a broken template (a bug here).
Result<std::vector<ProjectFile>> RenderOperatorProject(const OperatorNames& names);

// The templates behind it (scaffold_templates.cc): a relative path and a text, both with
// `{%name%}` placeholders and `{%#flag%}…{%/flag%}` / `{%^flag%}…{%/flag%}` sections (kept when
// the flag is true / false). A section tag alone on its line takes the line with it. `{%` was
// picked because neither C++ (`{{`), YAML, CMake (`${`) nor JSONPath (`{.`) uses it.
struct ProjectTemplate {
  std::string_view path;
  std::string_view text;
};
const std::vector<ProjectTemplate>& OperatorTemplates();

// Expands one template. BadRequest for an unknown name or flag, an unclosed tag or an unbalanced
// section.
Result<std::string> ExpandTemplate(std::string_view text, const std::map<std::string, std::string>& values,
                                   const std::map<std::string, bool>& flags);

// The command: validates (exit code 2 with a message on `err` for bad usage: names, a non-empty
// directory without --force), writes the files (1 on an I/O error), prints what it wrote and the
// next steps on `out` (0).
int InitOperator(const InitOperatorOptions& options, std::ostream& out, std::ostream& err);

}  // namespace setpoint::cli
