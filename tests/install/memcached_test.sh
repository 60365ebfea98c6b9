#!/usr/bin/env bash
# The Memcached operator tutorial, end to end, as a newcomer runs it: install setpoint into a
# prefix, build examples/memcached-operator against that prefix alone (and run its own tests), start
# the installed `setpoint server` (with its agent), install the CRD, run the operator, and drive it
# with kubectl against real memcached servers:
#   size 3 → `kubectl wait --for=condition=Available` and three memcached answer `stats` on
#   port, port+1, port+2; size 1 → one left and status.nodes says which; the ProcessSet scaled by
#   hand to 4 → back to 1; size 0 and 6 → rejected by the API; `kubectl delete` → the finalizer
#   sequence, a Warning event, no memcached process left.
# Every wait is a deadline on observable state.
#
#   memcached_test.sh BUILD_DIR SOURCE_DIR [CMAKE [GENERATOR [CXX_COMPILER]]]
set -euo pipefail
build_dir=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
cmake=${3:-cmake}
generator=${4:-Ninja}
cxx=${5:-}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

kubectl=
for k in /usr/lib/google-cloud-sdk/bin/kubectl.1.33 "$(command -v kubectl || true)"; do
  [[ -n $k && -x $k ]] && { kubectl=$k; break; }
done
[[ -n $kubectl ]] || { echo "SKIP: no kubectl"; exit 77; }
memcached_bin=$(command -v memcached || true)
[[ -n $memcached_bin ]] || memcached_bin=/usr/bin/memcached
[[ -x $memcached_bin ]] || { echo "SKIP: memcached is not installed (make deps installs it)"; exit 77; }

work_dir memcached-test
logs_on_failure=(server operator example-tests)
cxx_arg=()
[[ -n $cxx ]] && cxx_arg=(-DCMAKE_CXX_COMPILER="$cxx")

install_prefix "$build_dir" "$cmake"

step "build examples/memcached-operator against the prefix, and run its tests"
example=$work/example-build
"$cmake" -S "$source_dir/examples/memcached-operator" -B "$example" -G "$generator" \
  -DCMAKE_PREFIX_PATH="$prefix" "${cxx_arg[@]}" >"$work/example.log" 2>&1 ||
  { cat "$work/example.log"; fail "configuring the example"; }
grep -q "^setpoint_DIR:PATH=$prefix/" "$example/CMakeCache.txt" || fail "the example found another setpoint"
"$cmake" --build "$example" -j2 >>"$work/example.log" 2>&1 || { cat "$work/example.log"; fail "building the example"; }
"$(dirname "$(command -v "$cmake")")/ctest" --test-dir "$example" --output-on-failure >"$work/example-tests.log" 2>&1 ||
  fail "the example's tests"
grep -E 'tests passed' "$work/example-tests.log"

step "start the installed setpoint server (with its agent) and the operator"
port=$(free_port)
"$prefix/bin/setpoint" server --listen "127.0.0.1:$port" --data-dir "$work/data" --agent-lease-duration 5 \
  >"$work/server.log" 2>&1 &
pids+=($!)
server_pid=$!
eventually 30 "the server to be ready" grep -qs 'setpoint is ready' "$work/server.log"
export KUBECONFIG=$work/data/kubeconfig
k() { "$kubectl" --cache-dir "$work/kubectl-cache" "$@"; }
k apply -f "$source_dir/examples/memcached-operator/config/crd.yaml" >/dev/null
k wait crd/memcacheds.cache.example.com --for condition=Established --timeout=30s >/dev/null
health=$(free_port)
MEMCACHED_BINARY=$memcached_bin "$example/memcached-operator" --health "127.0.0.1:$health" >"$work/operator.log" 2>&1 &
pids+=($!)
operator_pid=$!
eventually 30 "the operator to start" grep -qs 'memcached-operator: reconciling' "$work/operator.log"

# Five free consecutive ports for the memcached servers (not 11211: a system memcached may have it).
base=$(python3 - <<'PY'
import random, socket
for _ in range(200):
    base = random.randrange(20000, 40000)
    socks = []
    try:
        for p in range(base, base + 5):
            s = socket.socket()
            s.bind(("127.0.0.1", p))
            socks.append(s)
        print(base)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
PY
)
[[ -n $base ]] || fail "no five free consecutive ports"

answers_stats() {  # answers_stats PORT: memcached on PORT answers `stats` with its pid
  python3 - "$1" <<'PY'
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    s.sendall(b"stats\r\n")
    data = b""
    while not data.endswith(b"END\r\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    sys.exit(0 if b"STAT pid " in data else 1)
except OSError:
    sys.exit(1)
PY
}
memcached_count() { pgrep -f -- "memcached -p ($base|$((base + 1))|$((base + 2))|$((base + 3))|$((base + 4))) " | wc -l; }
nodes() { k get memcached memcached-sample -o jsonpath='{.status.nodes}'; }

step "size 3: Available, three memcached servers answer stats on $base, $((base + 1)), $((base + 2))"
sed "s/port: 11211/port: $base/" "$source_dir/examples/memcached-operator/config/sample.yaml" | k apply -f - >/dev/null
k wait memcached/memcached-sample --for=condition=Available --timeout=60s >/dev/null || fail "never Available"
for p in $base $((base + 1)) $((base + 2)); do answers_stats "$p" || fail "no memcached answers on $p"; done
[[ $(memcached_count) == 3 ]] || fail "expected 3 memcached processes, found $(memcached_count)"
three=$(nodes)
python3 -c 'import json,sys; n=json.loads(sys.argv[1]); sys.exit(0 if len(n)==3 else 1)' "$three" || fail "status.nodes: $three"

step "size 1: one server left, status.nodes updated"
k patch memcached memcached-sample --type=merge -p '{"spec":{"size":1}}' >/dev/null
one_left() {
  [[ $(memcached_count) == 1 ]] && answers_stats "$base" && ! answers_stats $((base + 1)) &&
    python3 -c 'import json,sys; sys.exit(0 if len(json.loads(sys.argv[1] or "[]"))==1 else 1)' "$(nodes)"
}
eventually 60 "one memcached and one node" one_left

step "the ProcessSet scaled by hand to 4 goes back to 1"
k scale processset memcached-sample --replicas=4 >/dev/null
back_to_one() {
  [[ $(k get processset memcached-sample -o jsonpath='{.spec.replicas}') == 1 ]] && [[ $(memcached_count) == 1 ]]
}
eventually 60 "replicas back to 1" back_to_one

step "size 0 and 6 are rejected by the API"
for size in 0 6; do
  if out=$(k patch memcached memcached-sample --type=merge -p "{\"spec\":{\"size\":$size}}" 2>&1); then
    fail "size $size was accepted"
  fi
  grep -q 'spec.size' <<<"$out" || fail "size $size: unexpected error: $out"
done

step "kubectl delete: finalizer sequence, Warning event, nothing left running"
k delete memcached memcached-sample --timeout=60s >/dev/null
k get events --field-selector reason=Deleting -o jsonpath='{range .items[*]}{.type} {.message}{"\n"}{end}' |
  grep -q '^Warning Custom Resource memcached-sample is being deleted from the namespace default$' ||
  fail "no Warning Deleting event"
none_left() { [[ $(memcached_count) == 0 ]] && [[ -z $(k get processes -o name) ]]; }
eventually 60 "every memcached process gone" none_left

step "stop the operator and the server"
stop "$operator_pid" memcached-operator
stop "$server_pid" "setpoint server"
pids=()
step "done"
