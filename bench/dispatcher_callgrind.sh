#!/usr/bin/env bash
# Instructions per call of each variant of bench_dispatcher (callgrind; the machine's timing noise does not
# enter). Per row: inclusive instructions of each loop function over (calls x runs), minus the loop alone.
# 256 programs are left out: valgrind 3.19 crashes (internal SIGSEGV) mapping the larger code images near the
# executable. Usage: bench/dispatcher_callgrind.sh [build]
set -euo pipefail
build=${1:-build}
bench="$build/bench/bench_dispatcher"
calls=2000
runs=21
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%-6s %-7s' progs target
for f in loop_only direct indirect retpoline static kernel tree hot call; do printf ' %9s' "$f"; done
printf '\n'
for n in 1 2 4 16 48 64; do
  for mode in steady random; do
    out="$tmp/cg.$n.$mode"
    BJ_BENCH_CALLS=$calls BJ_BENCH_PROGS=$n BJ_BENCH_MODE=$mode \
      valgrind --tool=callgrind --smc-check=all --callgrind-out-file="$out" "$bench" >/dev/null 2>&1
    callgrind_annotate --inclusive=yes "$out" 2>/dev/null > "$out.txt"
    ir() { grep -E ":$1(\.[a-z0-9.]+)? \[" "$out.txt" | head -1 | awk '{ gsub(",", "", $1); print $1 }' || true; }
    base=$(ir loop_only)
    printf '%-6s %-7s %9.1f' "$n" "$mode" "$(echo "$base / ($calls * $runs)" | bc -l)"
    for f in loop_direct loop_indirect loop_retpoline loop_static loop_kernel loop_tree loop_hot loop_dispatch_call; do
      v=$(ir "$f")
      if [ -z "$v" ] || [ "$v" = 0 ]; then printf ' %9s' -; continue; fi
      printf ' %9.1f' "$(echo "($v - $base) / ($calls * $runs)" | bc -l)"
    done
    printf '\n'
  done
done
echo "instructions per call beyond the loop alone (loop_only column: the loop itself)"
