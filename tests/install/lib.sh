# Shared by the install tests: a work dir removed on exit (with the logs of what failed), the
# processes started (SIGKILLed on exit), steps with elapsed time, and waits with deadlines.
#
#   source lib.sh; work_dir NAME
# then: step "..."; fail "..."; eventually SECONDS WHAT COMMAND...; stop PID NAME; free_port;
# install_prefix BUILD_DIR CMAKE (sets $prefix).
set -euo pipefail

pids=()
logs_on_failure=()

work_dir() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/setpoint-$1.XXXXXX")
  trap cleanup EXIT
}

cleanup() {
  local rc=$?
  # SIGKILL: the graceful path is tested by stop(); here only leaving nothing behind matters.
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ $rc -ne 0 ]]; then
    local pattern log
    for pattern in "${logs_on_failure[@]}"; do  # names or globs, without .log
      for log in "$work"/$pattern.log; do
        [[ -f $log ]] && { echo "--- $(basename "$log") (last 40 lines)"; tail -n 40 "$log"; }
      done
    done
  fi
  rm -rf "$work"
  exit "$rc"
}

started=$SECONDS
step() { echo "== [$((SECONDS - started)) s] $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# eventually SECONDS WHAT COMMAND...: runs COMMAND until it succeeds, failing after SECONDS.
eventually() {
  local limit=$1 what=$2
  local deadline=$((SECONDS + limit))
  shift 2
  until "$@"; do
    ((SECONDS < deadline)) || fail "$what (not within $limit s)"
    sleep 0.2
  done
}

# stop PID NAME: SIGTERM, then the process must exit 0 within 20 s.
stop() {
  kill -TERM "$1"
  local deadline=$((SECONDS + 20))
  while kill -0 "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "$2 did not stop within 20 s of SIGTERM"
    sleep 0.1
  done
  wait "$1" || fail "$2 exited with status $? on SIGTERM"
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# install_prefix BUILD_DIR CMAKE: `cmake --install` the build tree into $work/prefix.
install_prefix() {
  prefix=$work/prefix
  step "cmake --install $1 --prefix $prefix"
  "$2" --install "$1" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log"; fail "cmake --install"; }
}
