#!/usr/bin/env bash
# Runs every benchmark and gathers build/bench/results.json (see ../shared/spec/cli.md).
set -euo pipefail
build=${1:-build}
out="$build/bench"
mkdir -p "$out"
: > "$out/results.jsonl"
for b in "$build"/bench/bench_*; do
  [ -f "$b" ] && [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  BJ_BENCH_RESULTS="$out/results.jsonl" "$b"
done
python3 bench/report.py "$out/results.jsonl" "$out/results.json"
