// The `setpoint` client commands — get, describe, apply, delete, wait — built on the SDK's
// client, using the kubeconfig `setpoint server` wrote (or $KUBECONFIG, or ~/.kube/config).
// kubectl users should feel at home: the same flags, the same table output (rendered by the
// server), errors worded like kubectl's. Each function runs one command to completion and returns
// the process exit code; output goes to the given streams. Not thread-safe (one command per
// process).
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace setpoint::cli {

struct CommonOptions {
  std::string kubeconfig;  // empty: $KUBECONFIG, then ~/.kube/config
  std::string context;
  std::string ns;  // empty: the context's namespace
  bool all_namespaces = false;
};

struct GetOptions {
  std::string kind;  // resource, kind, singular or short name, optionally "resource.group"
  std::string name;  // empty: list
  std::string selector;
  std::string output;  // "" (table), wide, yaml, json, name
  bool watch = false;
  std::chrono::seconds watch_timeout{0};  // 0: until interrupted
};

struct DescribeOptions {
  std::string kind;
  std::vector<std::string> names;  // empty: every object of the namespace (or all, -A)
  std::string selector;            // only without names
  bool show_events = true;
};

struct ApplyOptions {
  std::vector<std::string> files;  // files, directories (*.yaml, *.yml, *.json) or "-"
};

struct DeleteOptions {
  std::string kind;
  std::vector<std::string> names;
  std::vector<std::string> files;
  bool ignore_not_found = false;
  bool wait = true;
  std::chrono::seconds timeout{60};
};

struct WaitOptions {
  std::string target;  // KIND/NAME
  std::string for_;    // condition=Ready[=True] | delete
  std::chrono::seconds timeout{30};
};

struct LogsOptions {
  std::string name;  // NAME or process/NAME
  bool follow = false;
  std::int64_t tail = -1;  // -1: all
  int epoch = -1;          // -1: the newest
  std::int64_t limit_bytes = 0;
};

// `setpoint statement import FILE --account NAME --format F`: a bank's statement file as a
// BankStatement named after the statement's id (docs/bank-reconciliation.md).
struct ImportStatementOptions {
  std::string file;
  std::string account;
  std::string format;    // camt053 | ofx | csv
  std::string mapping;   // csv: K=V,... (accounting::CsvMapping)
  bool dry_run = false;  // print the object instead of creating it
  std::string output = "yaml";
};

// `setpoint match accept NAME...` or `--reconciliation R --min-confidence C`.
struct AcceptMatchesOptions {
  std::vector<std::string> names;
  std::string reconciliation;
  double min_confidence = 1.0;
};

int Get(const CommonOptions& common, const GetOptions& options, std::ostream& out, std::ostream& err);
// kubectl's generic describer, for every kind: name, namespace, labels and annotations, then
// every other field as indented "Label:  value" blocks, then the object's Events.
int Describe(const CommonOptions& common, const DescribeOptions& options, std::ostream& out, std::ostream& err);
int Apply(const CommonOptions& common, const ApplyOptions& options, std::ostream& out, std::ostream& err);
int Delete(const CommonOptions& common, const DeleteOptions& options, std::ostream& out, std::ostream& err);
int Wait(const CommonOptions& common, const WaitOptions& options, std::ostream& out, std::ostream& err);
int Logs(const CommonOptions& common, const LogsOptions& options, std::ostream& out, std::ostream& err);
int ImportStatement(const CommonOptions& common, const ImportStatementOptions& options, std::ostream& out,
                    std::ostream& err);
int AcceptMatches(const CommonOptions& common, const AcceptMatchesOptions& options, std::ostream& out,
                  std::ostream& err);

}  // namespace setpoint::cli
