#!/usr/bin/env bash
# Runs every fuzz target for a short time; any crash, sanitizer report or leak fails.
set -euo pipefail
build=${1:-build-fuzz}
seconds=${2:-30}
status=0
for f in "$build"/fuzz/fuzz_*; do
  [ -f "$f" ] && [ -x "$f" ] || continue
  name=$(basename "$f")
  target=${name#fuzz_}
  corpus=$(mktemp -d)
  seeds=fuzz/corpus/$target
  [ -d "$seeds" ] && cp -r "$seeds"/. "$corpus"/
  [ -x "fuzz/seed_$target.sh" ] && BJ_BPFJET="$build/bpfjet" bash "fuzz/seed_$target.sh" "$corpus"
  echo "fuzz: $name for ${seconds}s"
  if ! "$f" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 "$corpus" >"$build/$name.log" 2>&1; then
    echo "fuzz: $name FAILED"; tail -40 "$build/$name.log"; status=1
  else
    grep -E '^Done|stat::number_of_executed_units' "$build/$name.log" | tail -1
  fi
  rm -rf "$corpus"
done
exit $status
