#!/usr/bin/env bash
# make bench: see bench/run.py (servers, drivers, report). Kept so existing habits still work.
exec python3 "$(dirname "$0")/run.py" "$@"
