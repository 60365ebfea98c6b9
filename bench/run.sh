#!/usr/bin/env bash
# make bench: starts a fresh setpoint server on loopback, drives it with the load programs under
# build/bench, and writes a Markdown report to bench/results/. Prints numbers; never fails on
# slowness. BENCH_QUICK=1 shortens every run.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SECONDS_PER_RUN=${BENCH_SECONDS:-8}
[ "${BENCH_QUICK:-0}" = 1 ] && SECONDS_PER_RUN=3
mkdir -p bench/results
report="bench/results/$(date -u +%Y%m%dT%H%M%SZ).md"
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BUILD/setpoint" server --data-dir "$data" --listen "127.0.0.1:$port" >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
curl -sf -X POST "http://127.0.0.1:$port/apis/apiextensions.k8s.io/v1/customresourcedefinitions" \
  -H 'Content-Type: application/json' -o /dev/null -d '{
  "apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
  "metadata":{"name":"loads.bench.setpoint.dev"},
  "spec":{"group":"bench.setpoint.dev","scope":"Namespaced","names":{"plural":"loads","kind":"Load"},
    "versions":[{"name":"v1","served":true,"storage":true,
      "schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}'
{
  echo "# setpoint benchmark report"
  echo
  echo "- date: $(date -u +%FT%TZ)"
  echo "- machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r)"
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- seconds per run: $SECONDS_PER_RUN"
  echo
  echo "## API server: durable creates of 1 KiB objects (bench/api_load)"
  echo
  echo '```'
  for c in 1 16 64 256; do
    "$BUILD/bench/api_load" --server "http://127.0.0.1:$port" --connections $c --seconds "$SECONDS_PER_RUN" \
      --path /apis/bench.setpoint.dev/v1/namespaces/default/loads --kind Load --api-version bench.setpoint.dev/v1
  done
  echo "create then update, 64 connections:"
  "$BUILD/bench/api_load" --server "http://127.0.0.1:$port" --connections 64 --seconds "$SECONDS_PER_RUN" --update \
    --path /apis/bench.setpoint.dev/v1/namespaces/default/loads --kind Load --api-version bench.setpoint.dev/v1
  echo '```'
  echo
  echo "## List from the watch cache"
  echo
  echo '```'
  n=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^setpoint_store_objects/{print $2}')
  echo "objects: $n"
  for i in 1 2 3; do
    curl -s -o /dev/null -w "full list: %{time_total}s, %{size_download} bytes\n" \
      "http://127.0.0.1:$port/apis/bench.setpoint.dev/v1/namespaces/default/loads"
  done
  curl -s -o /dev/null -w "first page of 500: %{time_total}s\n" \
    "http://127.0.0.1:$port/apis/bench.setpoint.dev/v1/namespaces/default/loads?limit=500"
  echo "server resident memory: $(ps -o rss= -p $server) KiB"
  echo '```'
  echo
  echo "## Store alone: 64 threads, 1 KiB values (bench/store_bench)"
  echo
  echo '```'
  writes=200000
  [ "${BENCH_QUICK:-0}" = 1 ] && writes=50000
  "$BUILD/bench/store_bench" --store sqlite --threads 64 --writes $writes --value-bytes 1024 --path "$data/store_bench.db" --watch
  echo '```'
} | tee "$report"
echo "report: $report"
