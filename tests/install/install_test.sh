#!/usr/bin/env bash
# The SDK as an outside project sees it. Installs the build tree into a temporary prefix, checks
# the package (nothing points back into the source or build tree; the public headers compile with
# only the installed include directory; every exported target links), builds examples/configmap-mirror against the prefix, and
# runs that operator against the installed `setpoint server`: a ConfigMap labelled mirror=true
# gets a <name>-mirror copy with its data and a controller reference, an update follows, an edited or
# deleted copy is put back, and the copy goes when the original does. Every wait is a deadline on observable state.
# The example's own tests (GoogleTest with the SDK's in-process test server) run too.
#
#   install_test.sh BUILD_DIR SOURCE_DIR [CMAKE [GENERATOR [CXX_COMPILER]]]
set -euo pipefail

build_dir=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
cmake=${3:-cmake}
generator=${4:-Ninja}
cxx=${5:-}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
work_dir install-test
logs_on_failure=(server operator)

cxx_arg=()
[[ -n $cxx ]] && cxx_arg=(-DCMAKE_CXX_COMPILER="$cxx")

install_prefix "$build_dir" "$cmake"
config=$(find "$prefix" -name setpointConfig.cmake -print -quit)
[[ -n $config ]] || fail "no setpointConfig.cmake under $prefix"
[[ -x $prefix/bin/setpoint ]] || fail "no bin/setpoint under $prefix"
[[ -f $prefix/include/setpoint/runtime/controller.h ]] || fail "no include/setpoint/runtime/controller.h"
if grep -n -F -e "$source_dir" -e "$build_dir" "$(dirname "$config")"/*.cmake; then
  fail "the installed package refers to the source or build tree (above)"
fi

step "every exported target links; the public headers compile from the prefix alone"
mkdir -p "$work/check"
(cd "$prefix/include" && find setpoint -name '*.h' | sort | sed 's/.*/#include "&"/') >"$work/check/main.cc"
echo 'int main() { return 0; }' >>"$work/check/main.cc"
cat >"$work/check/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(setpoint_package_check LANGUAGES CXX)
find_package(setpoint REQUIRED)
get_directory_property(imported IMPORTED_TARGETS)
list(FILTER imported INCLUDE REGEX "^setpoint::")
message(STATUS "setpoint targets: ${imported}")
if(NOT "setpoint::setpoint_runtime" IN_LIST imported)
  message(FATAL_ERROR "setpoint::setpoint_runtime missing")
endif()
add_executable(check main.cc)
target_link_libraries(check PRIVATE ${imported})
CMAKE
"$cmake" -S "$work/check" -B "$work/check/build" -G "$generator" -DCMAKE_PREFIX_PATH="$prefix" "${cxx_arg[@]}" \
  >"$work/check.log" 2>&1 || { cat "$work/check.log"; fail "configuring a project that links every setpoint:: target"; }
grep 'setpoint targets:' "$work/check.log"
"$cmake" --build "$work/check/build" -j2 >>"$work/check.log" 2>&1 || { cat "$work/check.log"; fail "building it"; }

step "build examples/configmap-mirror against the prefix"
example=$work/example-build
"$cmake" -S "$source_dir/examples/configmap-mirror" -B "$example" -G "$generator" \
  -DCMAKE_PREFIX_PATH="$prefix" "${cxx_arg[@]}" >"$work/example.log" 2>&1 ||
  { cat "$work/example.log"; fail "configuring the example"; }
grep -q "^setpoint_DIR:PATH=$prefix/" "$example/CMakeCache.txt" ||
  fail "the example found another setpoint: $(grep '^setpoint_DIR' "$example/CMakeCache.txt")"
"$cmake" --build "$example" -j2 >>"$work/example.log" 2>&1 || { cat "$work/example.log"; fail "building the example"; }

step "the example's own tests (the SDK's test kit, in process)"
"$(dirname "$(command -v "$cmake")")/ctest" --test-dir "$example" --output-on-failure >"$work/example-tests.log" 2>&1 ||
  { cat "$work/example-tests.log"; fail "the example's tests"; }
grep -E 'tests passed' "$work/example-tests.log"

step "start the installed setpoint server and the operator"
port=$(free_port)
"$prefix/bin/setpoint" server --store memory --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/server.log" 2>&1 &
pids+=($!)
server_pid=$!
kubeconfig=$work/data/kubeconfig
sp() { "$prefix/bin/setpoint" "$1" --kubeconfig "$kubeconfig" "${@:2}"; }
eventually 30 "the server to be ready" grep -qs 'setpoint is ready' "$work/server.log"
api_version=v1 cm=configmaps

health_port=$(free_port)
"$example/configmap-mirror" --kubeconfig "$kubeconfig" --namespace default --health "127.0.0.1:$health_port" --leader-elect \
  >"$work/operator.log" 2>&1 &
pids+=($!)
operator_pid=$!
eventually 30 "the operator to start" grep -qs 'configmap-mirror: reconciling' "$work/operator.log"

step "a labelled ConfigMap gets a mirror"
sp apply -f - <<YAML
apiVersion: $api_version
kind: ConfigMap
metadata: {name: plain, namespace: default}
data: {unmirrored: "yes"}
---
apiVersion: $api_version
kind: ConfigMap
metadata: {name: settings, namespace: default, labels: {mirror: "true"}}
data: {color: blue, size: "3"}
YAML
uid_of() { sp get $cm "$1" -o json 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["metadata"]["uid"])' 2>/dev/null; }
uid=$(uid_of settings)

# mirror_has DATA_JSON: settings-mirror exists with exactly that data, controlled by settings.
mirror_has() {
  sp get $cm settings-mirror -o json 2>/dev/null | python3 -c '
import json, sys
try:
    m = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
refs = [r for r in m["metadata"].get("ownerReferences", []) if r.get("controller")]
ok = (m.get("data") == json.loads(sys.argv[1]) and len(refs) == 1 and refs[0]["kind"] == "ConfigMap"
      and refs[0]["name"] == "settings" and refs[0]["uid"] == sys.argv[2]
      and m["metadata"].get("labels", {}).get("mirror") is None)
sys.exit(0 if ok else 1)' "$1" "$uid"
}
eventually 30 "settings-mirror with settings' data and owner" mirror_has '{"color": "blue", "size": "3"}'
if sp get $cm plain-mirror >/dev/null 2>&1; then fail "an unlabelled ConfigMap was mirrored"; fi

step "an update of the original reaches the mirror"
sp apply -f - <<YAML
apiVersion: $api_version
kind: ConfigMap
metadata: {name: settings, namespace: default, labels: {mirror: "true"}}
data: {color: green, size: "3", extra: added}
YAML
eventually 30 "settings-mirror to follow the update" mirror_has '{"color": "green", "size": "3", "extra": "added"}'

step "an edited mirror is put back"
sp apply -f - <<YAML
apiVersion: $api_version
kind: ConfigMap
metadata: {name: settings-mirror, namespace: default}
data: {color: edited-by-hand}
YAML
eventually 30 "settings-mirror to be reverted" mirror_has '{"color": "green", "size": "3", "extra": "added"}'

step "a deleted mirror is put back"
old_mirror=$(uid_of settings-mirror)
# --wait=false: the operator recreates it under the same name, which `delete --wait` would wait out.
sp delete $cm settings-mirror --wait=false >/dev/null
recreated() {
  local now
  now=$(uid_of settings-mirror) && [[ $now != "$old_mirror" ]] && mirror_has '{"color": "green", "size": "3", "extra": "added"}'
}
eventually 30 "settings-mirror to come back (a new object)" recreated

step "the mirror goes with the original"
sp delete $cm settings >/dev/null
mirror_gone() { ! sp get $cm settings-mirror >/dev/null 2>&1; }
eventually 30 "settings-mirror to be deleted" mirror_gone

step "the operator recorded a Mirrored event"
curl -sf "http://127.0.0.1:$port/api/v1/namespaces/default/events?fieldSelector=reason%3DMirrored" |
  python3 -c 'import json, sys; items = json.load(sys.stdin)["items"]; sys.exit(0 if any(e["involvedObject"]["name"] == "settings" for e in items) else 1)' ||
  fail "no Mirrored event for settings"

step "the operator's health and metrics endpoints (it leads: leader_election_master_status 1)"
[[ $(curl -sf "http://127.0.0.1:$health_port/healthz") == ok ]] || fail "/healthz"
[[ $(curl -sf "http://127.0.0.1:$health_port/readyz") == ok ]] || fail "/readyz"
# Read whole before grepping: with pipefail, grep -q closing the pipe early would fail curl.
metrics=$(curl -sf "http://127.0.0.1:$health_port/metrics") || fail "/metrics"
grep -q '^controller_runtime_reconcile_total{controller="configmap-mirror",result="success"} [1-9]' <<<"$metrics" ||
  fail "/metrics has no successful reconciles"
grep -q '^leader_election_master_status{name="configmap-mirror"} 1' <<<"$metrics" ||
  fail "/metrics does not show the operator leading"

step "a second replica takes over when the leader is killed"
holder() {
  curl -sf "http://127.0.0.1:$port/apis/coordination.k8s.io/v1/namespaces/default/leases/configmap-mirror" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["spec"].get("holderIdentity", ""))'
}
first_leader=$(holder)
[[ -n $first_leader ]] || fail "the operator holds no Lease"
"$example/configmap-mirror" --kubeconfig "$kubeconfig" --namespace default --health 127.0.0.1:0 --leader-elect \
  >"$work/operator2.log" 2>&1 &
pids+=($!)
second_pid=$!
eventually 30 "the second replica to start" grep -qs 'configmap-mirror: reconciling' "$work/operator2.log"
[[ $(holder) == "$first_leader" ]] || fail "the Lease moved while its holder was alive"
kill -KILL "$operator_pid"
wait "$operator_pid" 2>/dev/null || true
killed_at=$SECONDS
new_leader() { local h; h=$(holder) && [[ -n $h && $h != "$first_leader" ]]; }
# client-go's defaults: a 15 s lease, retries every 2 s (jittered up to 2.2x).
eventually 25 "the second replica to take the Lease" new_leader
echo "taken over $((SECONDS - killed_at)) s after the leader was killed"
sp apply -f - <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: after, namespace: default, labels: {mirror: "true"}}
data: {k: v}
YAML
mirrored_after() { sp get $cm after-mirror >/dev/null 2>&1; }
eventually 30 "the new leader to mirror a new ConfigMap" mirrored_after

step "stop the operator and the server"
stop "$second_pid" configmap-mirror
stop "$server_pid" "setpoint server"
step "ok"
