#include "apiserver/setpoint_kinds.h"

#include "apiserver/accounting_admission.h"
#include "apiserver/accounting_kinds.h"
#include "apiserver/native_kinds.h"

#include <cstdio>
#include <cstdlib>
#include <map>

#include <boost/json.hpp>

#include "setpoint/api/condition_schema.h"
#include "setpoint/api/yaml.h"
#include "setpoint/common/json.h"

namespace setpoint::apiserver {

namespace json = boost::json;

namespace {

constexpr std::string_view kProbeSchema = R"(
type: object
description: A check the agent runs against the process, as the kubelet runs container probes.
properties:
  exec:
    type: object
    properties:
      command: {type: array, items: {type: string}, minItems: 1}
    required: [command]
  tcpSocket:
    type: object
    properties:
      host: {type: string}
      port: {x-kubernetes-int-or-string: true, description: "A port number or the name of a port of the process."}
    required: [port]
  httpGet:
    type: object
    properties:
      host: {type: string}
      path: {type: string, default: /}
      port: {x-kubernetes-int-or-string: true}
      httpHeaders:
        type: array
        items:
          type: object
          required: [name, value]
          properties:
            name: {type: string}
            value: {type: string}
    required: [port]
  initialDelaySeconds: {type: integer, minimum: 0, default: 0}
  periodSeconds: {type: integer, minimum: 1, default: 10}
  timeoutSeconds: {type: integer, minimum: 1, default: 1}
  successThreshold: {type: integer, minimum: 1, default: 1}
  failureThreshold: {type: integer, minimum: 1, default: 3}
)";

constexpr std::string_view kProcessSpecSchema = R"(
type: object
required: [command]
properties:
  agentName:
    type: string
    description: The agent that runs this process. Set by the scheduler when empty, or fixed by the author.
  agentSelector:
    type: object
    additionalProperties: {type: string}
    description: Labels an agent must have to run this process.
  command:
    type: array
    minItems: 1
    items: {type: string}
    description: The program and its first arguments; the program is looked up in PATH. $(VAR) expands.
  args:
    type: array
    items: {type: string}
  env:
    type: array
    items:
      type: object
      required: [name]
      properties:
        name: {type: string, minLength: 1, pattern: '^[-._a-zA-Z][-._a-zA-Z0-9]*$'}
        value: {type: string}
        valueFrom:
          type: object
          properties:
            fieldRef:
              type: object
              required: [fieldPath]
              properties:
                fieldPath: {type: string}
  workingDir: {type: string}
  ports:
    type: array
    x-kubernetes-list-type: map
    x-kubernetes-list-map-keys: [name]
    items:
      type: object
      required: [name]
      properties:
        name: {type: string, maxLength: 15, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'}
        port: {type: integer, minimum: 0, maximum: 65535, default: 0, description: "0: the agent allocates a free port."}
        address: {type: string, default: 127.0.0.1}
        passSocket: {type: boolean, default: false, description: "The agent binds the port and passes the listening socket (LISTEN_FDS, fd 3...), kept across epochs."}
        indexed: {type: boolean, default: false, description: "The port is port + the replica's index ($PROCESS_INDEX), so each replica of a ProcessSet gets a fixed port of its own."}
  restartPolicy: {type: string, enum: [Always, OnFailure, Never], default: Always}
  readinessProbe: {}
  livenessProbe: {}
  stopSignal: {type: string, default: SIGTERM, pattern: '^(SIG)?[A-Z0-9]+$'}
  terminationGracePeriodSeconds: {type: integer, minimum: 0, default: 30}
  drainPeriodSeconds: {type: integer, minimum: 0, default: 0}
  maxRetries: {type: integer, minimum: 0, default: 10}
  initialBackoffMilliseconds: {type: integer, minimum: 1, default: 200}
)";

// The one version of processes.setpoint.dev, under NativeCrd's header.
constexpr std::string_view kProcess = R"(
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Agent, type: string, jsonPath: .spec.agentName}
    - {name: Phase, type: string, jsonPath: .status.phase}
    - {name: Ready, type: boolean, jsonPath: .status.ready}
    - {name: Restarts, type: integer, jsonPath: .status.restartCount}
    - {name: PID, type: integer, jsonPath: .status.pid}
    - {name: Epoch, type: integer, jsonPath: .status.epoch, priority: 1}
    - {name: Ports, type: string, jsonPath: '.status.ports[*].port', priority: 1}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        description: An OS process kept running by an agent the way its spec says.
        required: [spec]
        properties:
          apiVersion: {type: string}
          kind: {type: string}
          metadata: {type: object}
          spec: {}
          status:
            type: object
            properties:
              phase: {type: string, enum: [Pending, Starting, Running, BackOff, Succeeded, Failed, Lost, Terminating]}
              reason: {type: string}
              message: {type: string}
              agent: {type: string}
              pid: {type: integer}
              epoch: {type: integer}
              restartCount: {type: integer}
              ready: {type: boolean}
              startTime: {type: string, format: date-time}
              observedGeneration: {type: integer}
              ports:
                type: array
                items:
                  type: object
                  properties:
                    name: {type: string}
                    port: {type: integer}
                    address: {type: string}
              epochs:
                type: array
                items:
                  type: object
                  properties:
                    epoch: {type: integer}
                    pid: {type: integer}
                    state: {type: string}
                    ready: {type: boolean}
                    startTime: {type: string, format: date-time}
                    generation: {type: integer}
              lastTermination:
                type: object
                properties:
                  epoch: {type: integer}
                  exitCode: {type: integer}
                  signal: {type: integer}
                  reason: {type: string}
                  message: {type: string}
                  finishedAt: {type: string, format: date-time}
              conditions: {}
)";

// The one version of processsets.setpoint.dev, under NativeCrd's header.
constexpr std::string_view kProcessSet = R"(
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas, labelSelectorPath: .status.selector}
    additionalPrinterColumns:
    - {name: Desired, type: integer, jsonPath: .spec.replicas}
    - {name: Current, type: integer, jsonPath: .status.replicas}
    - {name: Ready, type: integer, jsonPath: .status.readyReplicas}
    - {name: Up-To-Date, type: integer, jsonPath: .status.updatedReplicas}
    - {name: Available, type: integer, jsonPath: .status.availableReplicas}
    - {name: Strategy, type: string, jsonPath: .spec.strategy.type, priority: 1}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        description: Replicas of a Process template, updated by rolling replacement or in place by hot restart.
        required: [spec]
        properties:
          apiVersion: {type: string}
          kind: {type: string}
          metadata: {type: object}
          spec:
            type: object
            required: [selector, template]
            properties:
              replicas: {type: integer, minimum: 0, default: 1}
              minReadySeconds: {type: integer, minimum: 0, default: 0}
              selector:
                type: object
                properties:
                  matchLabels: {type: object, additionalProperties: {type: string}}
                  matchExpressions:
                    type: array
                    items:
                      type: object
                      required: [key, operator]
                      properties:
                        key: {type: string}
                        operator: {type: string, enum: [In, NotIn, Exists, DoesNotExist]}
                        values: {type: array, items: {type: string}}
              template:
                type: object
                required: [spec]
                properties:
                  metadata:
                    type: object
                    properties:
                      labels: {type: object, additionalProperties: {type: string}}
                      annotations: {type: object, additionalProperties: {type: string}}
                  spec: {}
              strategy:
                type: object
                default: {type: RollingUpdate}
                properties:
                  type: {type: string, enum: [RollingUpdate, HotRestart], default: RollingUpdate}
                  rollingUpdate:
                    type: object
                    properties:
                      maxSurge: {x-kubernetes-int-or-string: true}
                      maxUnavailable: {x-kubernetes-int-or-string: true}
          status:
            type: object
            properties:
              replicas: {type: integer}
              readyReplicas: {type: integer}
              updatedReplicas: {type: integer}
              availableReplicas: {type: integer}
              observedGeneration: {type: integer}
              selector: {type: string}
              templateHash: {type: string}
              conditions: {}
)";

// The one version of agents.setpoint.dev, under NativeCrd's header.
constexpr std::string_view kAgent = R"(
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Ready, type: string, jsonPath: '.status.conditions[?(@.type=="Ready")].status'}
    - {name: Processes, type: integer, jsonPath: .status.processes}
    - {name: Capacity, type: integer, jsonPath: .status.capacity.processes}
    - {name: Endpoint, type: string, jsonPath: .status.endpoint.address, priority: 1}
    - {name: Version, type: string, jsonPath: .status.agentInfo.version, priority: 1}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        description: An agent that supervises processes on one machine. It registers itself and renews a Lease in kube-node-lease.
        properties:
          apiVersion: {type: string}
          kind: {type: string}
          metadata: {type: object}
          spec:
            type: object
            properties:
              unschedulable: {type: boolean, default: false}
          status:
            type: object
            properties:
              capacity:
                type: object
                properties:
                  processes: {type: integer, minimum: 0}
              processes: {type: integer}
              addresses:
                type: array
                items:
                  type: object
                  properties:
                    type: {type: string}
                    address: {type: string}
              endpoint:
                type: object
                properties:
                  address: {type: string}
                  port: {type: integer}
              agentInfo:
                type: object
                properties:
                  version: {type: string}
                  bootID: {type: string}
                  hostname: {type: string}
                  dataDir: {type: string}
              conditions: {}
)";

}  // namespace

json::value NativeYaml(std::string_view text) {
  auto v = api::YamlToJson(text);
  if (!v) {
    std::fprintf(stderr, "native kinds: %s\n", v.error().message().c_str());
    std::abort();
  }
  return std::move(*v);
}

json::object NativeCrd(std::string_view group, std::string_view plural, std::string_view scope, std::string_view names,
                       std::string_view version) {
  std::string doc = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n";
  doc.append("metadata: {name: ").append(plural).append(".").append(group).append("}\n");
  doc.append("spec:\n  group: ").append(group).append("\n  scope: ").append(scope).append("\n");
  doc.append("  names: ").append(names).append("\n");
  doc.append("  versions:\n  - name: v1alpha1\n    served: true\n    storage: true\n").append(version);
  return NativeYaml(doc).as_object();
}

json::object& NativeSchema(json::object& crd) {
  return crd["spec"]
      .as_object()["versions"]
      .as_array()[0]
      .as_object()["schema"]
      .as_object()["openAPIV3Schema"]
      .as_object();
}

json::object& NativeSchemaProps(json::object& crd) { return NativeSchema(crd)["properties"].as_object(); }

namespace {

json::value Yaml(std::string_view text) { return NativeYaml(text); }

json::object NativeCrd(std::string_view plural, std::string_view scope, std::string_view names,
                       std::string_view version) {
  return apiserver::NativeCrd("setpoint.dev", plural, scope, names, version);
}

json::object& Version0Schema(json::object& crd) { return NativeSchema(crd); }

json::object& Props(json::object& schema) { return schema["properties"].as_object(); }

}  // namespace

std::vector<json::object> SetpointKindDefinitions() {
  // metav1.Condition, with the patterns upstream validates: a malformed condition is rejected.
  json::value conditions = Yaml(api::ConditionsSchemaYaml());
  json::value probe = Yaml(kProbeSchema);
  json::value process_spec = Yaml(kProcessSpecSchema);
  Props(process_spec.as_object())["readinessProbe"] = probe;
  Props(process_spec.as_object())["livenessProbe"] = probe;

  json::object process = NativeCrd("processes", "Namespaced",
                                   "{plural: processes, singular: process, kind: Process, listKind: ProcessList, "
                                   "shortNames: [proc], categories: [all]}",
                                   kProcess);
  auto& ps = Version0Schema(process);
  Props(ps)["spec"] = process_spec;
  Props(Props(ps)["status"].as_object())["conditions"] = conditions;

  json::object set = NativeCrd("processsets", "Namespaced",
                               "{plural: processsets, singular: processset, kind: ProcessSet, listKind: "
                               "ProcessSetList, shortNames: [ps], categories: [all]}",
                               kProcessSet);
  auto& ss = Version0Schema(set);
  auto& template_props = Props(Props(Props(ss)["spec"].as_object())["template"].as_object());
  template_props["spec"] = process_spec;
  Props(Props(ss)["status"].as_object())["conditions"] = conditions;

  json::object agent =
      NativeCrd("agents", "Cluster",
                "{plural: agents, singular: agent, kind: Agent, listKind: AgentList, categories: [all]}", kAgent);
  Props(Props(Version0Schema(agent))["status"].as_object())["conditions"] = conditions;
  return {std::move(agent), std::move(process), std::move(set)};
}

std::vector<ResourceInfoPtr> SetpointResources() {
  std::vector<ResourceInfoPtr> out;
  std::vector<json::object> definitions = SetpointKindDefinitions();
  for (auto& crd : AccountingKindDefinitions()) definitions.push_back(std::move(crd));
  const std::map<std::string, KindAdmission, std::less<>> rules = {
      {"accounttransactions", &AdmitAccountTransaction},
      {"reconciliations", &AdmitReconciliation},
      {"journalentries", &AdmitJournalEntry},
      {"bankstatements", &AdmitBankStatement},
      {"reconciliationmatches", &AdmitReconciliationMatch},
  };
  for (const auto& crd : definitions) {
    auto r = ResourceFromCrd(crd);
    if (!r) {
      std::fprintf(stderr, "setpoint kinds: %s\n", r.error().message().c_str());
      for (const auto& c : r.error().causes()) std::fprintf(stderr, "  %s: %s\n", c.field.c_str(), c.message.c_str());
      std::abort();
    }
    auto m = std::const_pointer_cast<ResourceInfo>(*r);
    m->crd_name.clear();  // served natively: no CRD object stands behind it
    if (m->resource == "processes") m->selectable_fields = {"spec.agentName", "status.phase"};
    if (m->resource == "processsets") m->scale_subresource = true;
    if (m->resource == "accounttransactions")
      m->selectable_fields = {"spec.account", "spec.reconciliation", "spec.state", "spec.type"};
    if (m->resource == "reconciliationmatches") m->selectable_fields = {"spec.reconciliation"};
    if (auto rule = rules.find(m->resource); rule != rules.end() && m->group == "accounting.setpoint.dev") {
      m->admit = rule->second;
      // Journal entries and statements are judged on themselves alone.
      m->admit_reads_others = m->resource != "journalentries" && m->resource != "bankstatements";
    }
    if (m->group == "accounting.setpoint.dev" &&
        (m->resource == "accounttransactions" || m->resource == "journalentries"))
      m->admit_delete = &AdmitAccountingDelete;
    out.push_back(m);
  }
  return out;
}

}  // namespace setpoint::apiserver
