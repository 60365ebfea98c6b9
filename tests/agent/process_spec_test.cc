// What the agent makes of a Process spec: parsing with the schema's defaults, the epoch config
// (what restarts a process when it changes), Kubernetes' $(VAR) expansion and the environment;
// and the state file a restarted agent re-adopts from.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "agent/process_spec.h"
#include "agent/state_file.h"
#include "setpoint/common/json.h"

namespace setpoint::agent {
namespace {

namespace json = boost::json;

json::object Obj(std::string_view text) { return ParseJson(text)->as_object(); }

TEST(ProcessSpec, ParsesWithDefaults) {
  auto c = ParseProcessSpec(Obj(R"({"command": ["srv"], "ports": [{"name": "http-alt"}],
      "readinessProbe": {"httpGet": {"port": "http-alt", "path": "/ready"}}})"));
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->command, std::vector<std::string>{"srv"});
  EXPECT_EQ(c->restart, RestartPolicy::kAlways);
  EXPECT_EQ(c->stop_signal, 15);
  EXPECT_EQ(c->termination_grace_seconds, 30);
  EXPECT_EQ(c->max_retries, 10);
  ASSERT_EQ(c->ports.size(), 1u);
  EXPECT_EQ(c->ports[0].env_name(), "PORT_HTTP_ALT");
  EXPECT_EQ(c->ports[0].address, "127.0.0.1");
  ASSERT_TRUE(c->readiness);
  EXPECT_EQ(c->readiness->kind, ProbeSpec::Kind::kHttpGet);
  EXPECT_EQ(c->readiness->port, "http-alt");
  EXPECT_EQ(c->readiness->path, "/ready");
  EXPECT_EQ(c->readiness->period_seconds, 10);
  EXPECT_EQ(c->readiness->failure_threshold, 3);
  EXPECT_FALSE(c->liveness);
  auto policy = c->retry_policy();
  EXPECT_EQ(policy.initial_interval, std::chrono::milliseconds(200));
}

TEST(ProcessSpec, RejectsWhatCannotRunWithTheField) {
  struct Case {
    const char* spec;
    const char* message;
  } cases[] = {
      {R"({})", "spec.command: Required value"},
      {R"({"command": [""]})", "spec.command: Required value"},
      {R"({"command": ["x"], "stopSignal": "SIGFOO"})", "spec.stopSignal: unknown signal \"SIGFOO\""},
      {R"({"command": ["x"], "restartPolicy": "Sometimes"})", "spec.restartPolicy: Unsupported value"},
      {R"({"command": ["x"], "ports": [{"name": "a"}, {"name": "a"}]})", "spec.ports[1].name: Duplicate value"},
      {R"({"command": ["x"], "livenessProbe": {"exec": {"command": ["a"]}, "tcpSocket": {"port": 1}}})",
       "spec.livenessProbe: must specify exactly one of exec, tcpSocket or httpGet"},
  };
  for (const auto& c : cases) {
    auto parsed = ParseProcessSpec(Obj(c.spec));
    ASSERT_FALSE(parsed) << c.spec;
    EXPECT_EQ(parsed.error().code(), StatusCode::kInvalid);
    EXPECT_NE(parsed.error().message().find(c.message), std::string::npos) << parsed.error().message();
  }
}

TEST(ProcessSpec, EpochConfigIgnoresPlacementAndKeyOrder) {
  auto a = EpochConfig(Obj(R"({"command": ["x"], "env": [{"name": "A", "value": "1"}], "agentName": "n1"})"));
  auto b = EpochConfig(Obj(R"({"env": [{"value": "1", "name": "A"}], "agentName": "n2", "command": ["x"],
                               "agentSelector": {"zone": "a"}})"));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, EpochConfig(Obj(R"({"command": ["x"], "env": [{"name": "A", "value": "2"}]})")));
  // The config parses back into the same spec (the agent starts epochs from it).
  auto back = ParseJson(a);
  ASSERT_TRUE(back && back->is_object());
  EXPECT_EQ(ParseProcessSpec(back->as_object())->env[0].value, "1");
}

TEST(ProcessSpec, ExpandsLikeKubernetes) {
  std::map<std::string, std::string> vars{{"PORT_HTTP", "8080"}, {"NAME", "web"}};
  EXPECT_EQ(Expand("--port=$(PORT_HTTP)", vars), "--port=8080");
  EXPECT_EQ(Expand("$(NAME)-$(NAME)", vars), "web-web");
  EXPECT_EQ(Expand("$(UNKNOWN) stays", vars), "$(UNKNOWN) stays");
  EXPECT_EQ(Expand("$$(PORT_HTTP) is escaped", vars), "$(PORT_HTTP) is escaped");
  EXPECT_EQ(Expand("costs $5 and $(unterminated", vars), "costs $5 and $(unterminated");
  EXPECT_EQ(Expand("trailing $", vars), "trailing $");
}

TEST(ProcessSpec, BuildsTheEnvironmentInOrderWithFieldRefs) {
  auto process = Obj(R"({"metadata": {"name": "web-0", "namespace": "prod", "uid": "u-1",
      "labels": {"tier": "front"}, "annotations": {"owner": "ops"}}, "spec": {"agentName": "box"}})");
  auto config = ParseProcessSpec(Obj(R"js({"command": ["x"], "env": [
      {"name": "URL", "value": "http://127.0.0.1:$(PORT_HTTP)/"},
      {"name": "ME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
      {"name": "TIER", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['tier']"}}},
      {"name": "OWNER", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['owner']"}}},
      {"name": "WHERE", "valueFrom": {"fieldRef": {"fieldPath": "spec.agentName"}}},
      {"name": "GREETING", "value": "$(ME) on $(WHERE)"},
      {"name": "PATH", "value": "/opt/bin:$(PATH)"}]})js"));
  ASSERT_TRUE(config);
  auto env = BuildEnvironment(*config, process, {{"PATH", "/usr/bin"}, {"PORT_HTTP", "8080"}});
  ASSERT_TRUE(env) << env.error().to_string();
  std::map<std::string, std::string> m(env->begin(), env->end());
  EXPECT_EQ(m["URL"], "http://127.0.0.1:8080/");
  EXPECT_EQ(m["ME"], "web-0");
  EXPECT_EQ(m["TIER"], "front");
  EXPECT_EQ(m["OWNER"], "ops");
  EXPECT_EQ(m["WHERE"], "box");
  EXPECT_EQ(m["GREETING"], "web-0 on box");
  EXPECT_EQ(m["PATH"], "/opt/bin:/usr/bin");
  EXPECT_EQ(env->front().first, "PATH") << "a redefined variable keeps its place";

  auto bad = ParseProcessSpec(
      Obj(R"({"command": ["x"], "env": [{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "status.phase"}}}]})"));
  auto rejected = BuildEnvironment(*bad, process, {});
  ASSERT_FALSE(rejected);
  EXPECT_NE(rejected.error().message().find("unsupported fieldPath \"status.phase\""), std::string::npos);
}

TEST(StateFile, RoundTripsAndToleratesAbsence) {
  auto dir = std::filesystem::temp_directory_path() / ("setpoint-state-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "state.json").string();
  auto empty = LoadState(path);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());

  ProcessRecord r;
  r.uid = "u-1";
  r.ns = "default";
  r.name = "web";
  r.restarts = 3;
  r.ports = {{"http", 8080, "127.0.0.1"}};
  r.epochs = {{1, {4242, 987654, "boot-1"}, R"({"command":["x"]})", 5, 1700000000000}};
  ASSERT_TRUE(SaveState(path, {r}).ok());
  auto back = LoadState(path);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 1u);
  const auto& b = (*back)[0];
  EXPECT_EQ(b.uid, "u-1");
  EXPECT_EQ(b.restarts, 3);
  EXPECT_EQ(b.ports[0].port, 8080);
  ASSERT_EQ(b.epochs.size(), 1u);
  EXPECT_EQ(b.epochs[0].id, (ProcessIdentity{4242, 987654, "boot-1"}));
  EXPECT_EQ(b.epochs[0].config, R"({"command":["x"]})");
  EXPECT_EQ(b.epochs[0].generation, 5);
  EXPECT_EQ(b.epochs[0].started_unix_ms, 1700000000000);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  {
    std::ofstream corrupt(path, std::ios::trunc);
    corrupt << "{not json";
  }
  EXPECT_FALSE(LoadState(path));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace setpoint::agent
