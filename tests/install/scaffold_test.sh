#!/usr/bin/env bash
# `setpoint init-operator` as a newcomer meets it. Installs the build tree into a temporary prefix;
# checks that bad input is refused (exit code 2, a message that says why) and the names derived
# from a kind; generates a namespaced and a cluster-scoped operator, builds each against the prefix
# alone (warnings are errors) and runs its own test; then runs each generated operator against the
# installed `setpoint server` the way its README says: apply config/crd.yaml and config/sample.yaml
# (kubectl 1.33 when present, else `setpoint apply`), wait for Available=True with the finalizer,
# change the spec and see observedGeneration follow, see the schema refuse a bad size, delete the
# sample and see the finalizer's Warning event and the object gone, stop the operator with SIGTERM.
# Every wait is a deadline on observable state.
#
#   scaffold_test.sh BUILD_DIR SOURCE_DIR [CMAKE [GENERATOR [CXX_COMPILER]]]
set -euo pipefail

build_dir=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
cmake=${3:-cmake}
generator=${4:-Ninja}
cxx=${5:-}
ctest=$(dirname "$(command -v "$cmake")")/ctest
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
work_dir scaffold-test
logs_on_failure=(server "*-operator")

cxx_arg=()
[[ -n $cxx ]] && cxx_arg=(-DCMAKE_CXX_COMPILER="$cxx")

install_prefix "$build_dir" "$cmake"
setpoint=$prefix/bin/setpoint
[[ -x $setpoint ]] || fail "no bin/setpoint under $prefix"
init() { "$setpoint" init-operator "$@"; }

step "bad input: exit code 2 and a message that says what is wrong"
# refused WHAT EXPECTED_MESSAGE ARGS...: init-operator ARGS exits 2 and says EXPECTED_MESSAGE.
refused() {
  local what=$1 want=$2 rc=0
  shift 2
  init "$@" >"$work/refused.out" 2>"$work/refused.err" || rc=$?
  [[ $rc -eq 2 ]] || fail "$what: exit code $rc, want 2; stderr: $(cat "$work/refused.err")"
  grep -qF -- "$want" "$work/refused.err" || fail "$what: stderr does not say '$want': $(cat "$work/refused.err")"
}
bad=$work/bad
refused "a group without a dot" 'invalid --group "cache": must be a DNS subdomain with at least one dot' \
  "$bad" --group cache --version v1 --kind Memcached
refused "an upper-case group" 'invalid --group "Cache.Example.com"' "$bad" --group Cache.Example.com --version v1 --kind Memcached
refused "a group label ending in -" 'invalid --group "cache-.example.com"' "$bad" --group cache-.example.com --version v1 --kind Memcached
refused "a Kubernetes group" 'reserved for Kubernetes' "$bad" --group apps.k8s.io --version v1 --kind Memcached
refused "a version without v" 'invalid --version "1": must be v<N>, v<N>alpha<M> or v<N>beta<M>' \
  "$bad" --group cache.example.com --version 1 --kind Memcached
refused "a version without its level number" 'invalid --version "v1alpha"' "$bad" --group cache.example.com --version v1alpha --kind Memcached
refused "a version with a leading zero" 'invalid --version "v01"' "$bad" --group cache.example.com --version v01 --kind Memcached
refused "a version level other than alpha/beta" 'invalid --version "v1gamma1"' "$bad" --group cache.example.com --version v1gamma1 --kind Memcached
refused "a lower-case kind" 'invalid --kind "memcached": must be UpperCamelCase' "$bad" --group cache.example.com --version v1 --kind memcached
refused "a kind with a dash" 'invalid --kind "Mem-cached"' "$bad" --group cache.example.com --version v1 --kind Mem-cached
refused "a bad plural" 'invalid --plural "Memcacheds"' "$bad" --group cache.example.com --version v1 --kind Memcached --plural Memcacheds
refused "a plural equal to the singular" 'must differ from the singular' "$bad" --group cache.example.com --version v1 --kind Sheep --plural sheep
refused "no --kind" '--kind is required' "$bad" --group cache.example.com --version v1
refused "no DIR" 'dir is required' --group cache.example.com --version v1 --kind Memcached
refused "--cluster and --namespaced" 'excludes' "$bad" --group cache.example.com --version v1 --kind Memcached --cluster --namespaced
refused "an unknown flag" '--size' "$bad" --group cache.example.com --version v1 --kind Memcached --size 3
mkdir -p "$work/taken"
echo mine >"$work/taken/notes.txt"
refused "a directory that is not empty" 'is not empty' "$work/taken" --group cache.example.com --version v1 --kind Memcached
touch "$work/a-file"
refused "a file, not a directory" 'is not a directory' "$work/a-file" --group cache.example.com --version v1 --kind Memcached
[[ ! -e $bad ]] || fail "a refused init-operator left $bad behind"
[[ $(ls "$work/taken") == notes.txt ]] || fail "a refused init-operator wrote into $work/taken"

step "--force writes into a non-empty directory and leaves other files alone"
init "$work/taken" --group cache.example.com --version v1 --kind Memcached --force >/dev/null
[[ -f $work/taken/CMakeLists.txt && $(cat "$work/taken/notes.txt") == mine ]] || fail "--force"
mkdir -p "$work/empty"
init "$work/empty" --group cache.example.com --version v1 --kind Memcached >/dev/null || fail "an empty directory was refused"

step "names derived from the kind"
# names KIND PLURAL FILE_BASE [ARGS...]: the CRD's plural and singular, the file names, no template left over.
names() {
  local kind=$1 plural=$2 base=$3
  shift 3
  local dir=$work/names/$kind
  init "$dir" --group names.example.com --version v1 --kind "$kind" "$@" >/dev/null || fail "init-operator --kind $kind"
  grep -qx "    plural: $plural" "$dir/config/crd.yaml" || fail "$kind: plural is not $plural: $(grep 'plural:' "$dir/config/crd.yaml")"
  grep -qx "    singular: ${kind,,}" "$dir/config/crd.yaml" || fail "$kind: singular is not ${kind,,}"
  grep -qx "  name: $plural.names.example.com" "$dir/config/crd.yaml" || fail "$kind: CRD name"
  for f in src/${base}_types.h src/${base}_controller.h src/${base}_controller.cc test/${base}_controller_test.cc; do
    [[ -f $dir/$f ]] || fail "$kind: no $f"
  done
  grep -q "project(${base}_operator " "$dir/CMakeLists.txt" || fail "$kind: CMake project is not ${base}_operator"
  if grep -rn -e '{%' -e '%}' "$dir"; then fail "$kind: template syntax left in the output (above)"; fi
}
names Memcached memcacheds memcached
names Policy policies policy
names Gateway gateways gateway
names Box boxes box
names Bus buses bus
names Match matches match
names Mesh meshes mesh
names StoragePolicy storagepolicies storage_policy
names HTTPRoute httproutes http_route
names S3Bucket s3buckets s3_bucket
names Person people person --plural people

# project NAME ARGS...: generates NAME, configures it against the prefix (warnings are errors),
# builds it and runs its tests.
project() {
  local name=$1
  shift
  local dir=$work/$name
  init "$dir" "$@" >"$work/$name-init.log" || { cat "$work/$name-init.log"; fail "init-operator $*"; }
  "$cmake" -S "$dir" -B "$dir/build" -G "$generator" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_COMPILE_WARNING_AS_ERROR=ON \
    "${cxx_arg[@]}" >"$work/$name-build.log" 2>&1 || { cat "$work/$name-build.log"; fail "configuring $name"; }
  grep -q "^setpoint_DIR:PATH=$prefix/" "$dir/build/CMakeCache.txt" ||
    fail "$name found another setpoint: $(grep '^setpoint_DIR' "$dir/build/CMakeCache.txt")"
  grep -q -- '-Wall -Wextra' "$dir/build/build.ninja" 2>/dev/null || [[ $generator != Ninja ]] ||
    fail "$name is not compiled with -Wall -Wextra"
  "$cmake" --build "$dir/build" -j2 >>"$work/$name-build.log" 2>&1 || { cat "$work/$name-build.log"; fail "building $name"; }
  if grep -i 'warning' "$work/$name-build.log"; then fail "building $name printed warnings (above)"; fi
  "$ctest" --test-dir "$dir/build" --output-on-failure >"$work/$name-tests.log" 2>&1 ||
    { cat "$work/$name-tests.log"; fail "the tests of $name"; }
  grep -E 'tests passed' "$work/$name-tests.log"
}

step "a namespaced operator: generate, build against the prefix, run its tests"
project memcached --group cache.example.com --version v1alpha1 --kind Memcached --namespaced
step "a cluster-scoped operator: generate, build against the prefix, run its tests"
project storage-policy --group infra.example.org --version v1beta2 --kind StoragePolicy --cluster

step "start the installed setpoint server"
port=$(free_port)
"$setpoint" server --store memory --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/server.log" 2>&1 &
pids+=($!)
server_pid=$!
api=http://127.0.0.1:$port
kubeconfig=$work/data/kubeconfig
eventually 30 "the server to be ready" grep -qs 'setpoint is ready' "$work/server.log"
kubectl_bin=/usr/lib/google-cloud-sdk/bin/kubectl.1.33
if [[ -x $kubectl_bin ]]; then
  echo "using $kubectl_bin"
  apply() { "$kubectl_bin" --kubeconfig "$kubeconfig" apply -f "$1"; }
  get() { "$kubectl_bin" --kubeconfig "$kubeconfig" get "$@"; }
  delete() { "$kubectl_bin" --kubeconfig "$kubeconfig" delete --timeout=60s -f "$1"; }
else
  echo "no $kubectl_bin: using setpoint apply/get/delete"
  apply() { "$setpoint" apply --kubeconfig "$kubeconfig" -f "$1"; }
  get() { "$setpoint" get --kubeconfig "$kubeconfig" "$@"; }
  delete() { "$setpoint" delete --kubeconfig "$kubeconfig" --timeout 60 -f "$1"; }
fi

# state URL FINALIZER WANT_SIZE: the object at URL is Available=True for its current generation,
# carries FINALIZER, and its Available message names WANT_SIZE.
state() {
  local obj
  obj=$(curl -sf "$1") || return 1
  python3 -c '
import json, sys
o = json.loads(sys.argv[1])
status = o.get("status", {})
conditions = {c["type"]: c for c in status.get("conditions", [])}
available = conditions.get("Available", {})
ok = (available.get("status") == "True" and available.get("reason") == "Reconciling"
      and available.get("message", "").endswith("with size " + sys.argv[3])
      and sys.argv[2] in o["metadata"].get("finalizers", [])
      and status.get("observedGeneration") == o["metadata"]["generation"])
sys.exit(0 if ok else 1)' "$obj" "$2" "$3"
}
gone() { [[ $(curl -s -o /dev/null -w '%{http_code}' "$1") == 404 ]]; }

# operator NAME PROGRAM GROUP VERSION PLURAL SAMPLE NAMESPACED [OPERATOR_ARGS...]: runs the
# generated operator NAME against the server the way its README says.
operator() {
  local name=$1 program=$2 group=$3 version=$4 plural=$5 sample=$6 namespaced=$7
  shift 7
  local dir=$work/$name
  local path=/apis/$group/$version/$plural/$sample
  [[ $namespaced == yes ]] && path=/apis/$group/$version/namespaces/default/$plural/$sample
  local url=$api$path

  apply "$dir/config/crd.yaml" >"$work/$name-apply.log" 2>&1 || { cat "$work/$name-apply.log"; fail "applying $name's CRD"; }
  eventually 30 "$plural.$group to be served" curl -sf -o /dev/null "$api/apis/$group/$version/$plural"
  local health_port
  health_port=$(free_port)
  "$dir/build/$program" --kubeconfig "$kubeconfig" --health "127.0.0.1:$health_port" "$@" >"$work/$name-operator.log" 2>&1 &
  pids+=($!)
  local operator_pid=$!
  eventually 30 "$program to start" grep -qs "$program: reconciling $plural.$group" "$work/$name-operator.log"

  apply "$dir/config/sample.yaml" >>"$work/$name-apply.log" 2>&1 || { cat "$work/$name-apply.log"; fail "applying $name's sample"; }
  eventually 30 "$sample to be Available=True with the finalizer $group/finalizer" state "$url" "$group/finalizer" 1
  echo "$sample is Available"
  local table
  table=$(get "$plural") || fail "get $plural"
  echo "$table"
  grep -q 'AVAILABLE' <<<"$table" || fail "get $plural has no AVAILABLE column"
  grep -Eq "^$sample +1 +True " <<<"$table" || fail "get $plural does not show $sample with size 1, Available True"

  # A spec change: a new generation, which the status follows.
  sed 's/^  size: 1$/  size: 3/' "$dir/config/sample.yaml" >"$work/$name-size3.yaml"
  apply "$work/$name-size3.yaml" >>"$work/$name-apply.log" 2>&1 || { cat "$work/$name-apply.log"; fail "changing size"; }
  eventually 30 "$sample's status to follow size 3" state "$url" "$group/finalizer" 3
  # The schema refuses what it must.
  sed 's/^  size: 1$/  size: 11/' "$dir/config/sample.yaml" >"$work/$name-size11.yaml"
  if apply "$work/$name-size11.yaml" >"$work/$name-size11.log" 2>&1; then fail "size 11 was accepted"; fi
  grep -q 'spec.size' "$work/$name-size11.log" || fail "the refusal of size 11 does not name spec.size: $(cat "$work/$name-size11.log")"

  step "$name: health and metrics"
  [[ $(curl -sf "http://127.0.0.1:$health_port/healthz") == ok ]] || fail "$program /healthz"
  [[ $(curl -sf "http://127.0.0.1:$health_port/readyz") == ok ]] || fail "$program /readyz"
  local metrics
  metrics=$(curl -sf "http://127.0.0.1:$health_port/metrics") || fail "$program /metrics"
  grep -q '^controller_runtime_reconcile_total{controller="[a-z0-9]*",result="success"} [1-9]' <<<"$metrics" ||
    fail "$program's /metrics has no successful reconciles"

  step "$name: delete the sample: the finalizer runs, then it is gone"
  delete "$dir/config/sample.yaml" >>"$work/$name-apply.log" 2>&1 || { cat "$work/$name-apply.log"; fail "deleting $sample"; }
  eventually 30 "$sample to be gone" gone "$url"
  deleting_event() {
    curl -sf "$api/api/v1/namespaces/default/events?fieldSelector=reason%3DDeleting,involvedObject.name%3D$sample" |
      python3 -c 'import json, sys; sys.exit(0 if any(e["type"] == "Warning" for e in json.load(sys.stdin)["items"]) else 1)'
  }
  eventually 30 "a Warning event Deleting for $sample" deleting_event

  stop "$operator_pid" "$program"
}

step "memcached-operator against the server (with --leader-elect)"
operator memcached memcached-operator cache.example.com v1alpha1 memcacheds memcached-sample yes --leader-elect
step "storage-policy-operator against the server (--namespace is not one of its flags: cluster-scoped)"
operator storage-policy storage-policy-operator infra.example.org v1beta2 storagepolicies storage-policy-sample no
rc=0
"$work/storage-policy/build/storage-policy-operator" --namespace default >/dev/null 2>&1 || rc=$?
[[ $rc -eq 2 ]] || fail "the cluster-scoped operator took --namespace (exit code $rc, want 2)"

step "stop the server"
stop "$server_pid" "setpoint server"
step "ok"
