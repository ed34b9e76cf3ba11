#!/usr/bin/env bash
# Instructions per packet of bench_xdp's bpfjet modes (callgrind; the machine's timing noise does not enter).
# Each case runs twice, with few and with more batches; the difference of the total instruction counts over the
# difference in packets is the per-packet cost, setup excluded. Includes everything bench_xdp times per batch:
# bj_xdp__run_batch (contexts, program, verdicts, statistics) and bj_xdp__deliver.
# Usage: bench/xdp_callgrind.sh [build [program...]]
set -euo pipefail
build=${1:-build}
shift || true
bench="$build/bench/bench_xdp"
progs=${*:-drop parse_count hash5_lookup mac_swap_tx checksum redirect}
modes=("interp per-packet" "jit per-packet" "interp rewrite" "jit rewrite" "jit native loop")
lo=10 hi=110 runs=7 batch=64  # runs: RUNS in bench_xdp.c
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
total() {
  valgrind --tool=callgrind --smc-check=all --callgrind-out-file="$tmp/cg" "$bench" "$1" "$2" "$3" >/dev/null 2>&1
  awk '/^(summary|totals):/ { print $2; exit }' "$tmp/cg"
}
printf '%-14s' program
for m in "${modes[@]}"; do printf ' %17s' "$m"; done
printf '\n'
for p in $progs; do
  printf '%-14s' "$p"
  for m in "${modes[@]}"; do
    a=$(total $lo "$p" "$m")
    b=$(total $hi "$p" "$m")
    printf ' %17.1f' "$(echo "($b - $a) / (($hi - $lo) * $runs * $batch)" | bc -l)"
  done
  printf '\n'
done
echo "instructions per packet (valgrind --tool=callgrind, $build/bench/bench_xdp BATCHES PROGRAM MODE)"
