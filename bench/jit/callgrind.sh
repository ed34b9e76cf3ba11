#!/usr/bin/env bash
# Instructions per run of each bench_jit program (callgrind; the machine's timing noise does not enter):
# native -O2 (and without vectorisation), the bpfjet JIT, the kernel JIT's code for the same program (run in user space by bench_jit)
# and the interpreter. Each figure is the inclusive count of the engine's loop function over the calls made.
# Usage: bench/jit/callgrind.sh [build] [calls]
set -euo pipefail
build=${1:-build}
calls=${2:-20}
bench="$build/bench/bench_jit"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%-9s %12s %12s %12s %12s %12s %9s %9s %9s\n' program native nat_scalar jit kernel_jit interp jit/nat jit/scal jit/kern
for p in empty sieve memops checksum hash intlog dswitch sort crc32; do
  out="$tmp/cg.$p"
  BJ_BENCH_PROG=$p BJ_BENCH_CALLGRIND=$calls BJ_BENCH_CPU=${BJ_BENCH_CPU:-1} \
    valgrind --tool=callgrind --smc-check=all --callgrind-out-file="$out" "$bench" >"$out.log" 2>&1
  callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null > "$out.txt"
  ir() {
    local v
    v=$(grep -E "[:[:space:]]$1(\.[a-z0-9.]+)? \[" "$out.txt" | head -1 | awk '{ gsub(",", "", $1); print $1 }')
    if [ -z "$v" ]; then echo -; else echo $(( v / calls )); fi
  }
  nat=$(ir cg_native); nsc=$(ir cg_native_scalar); jit=$(ir cg_jit); ker=$(ir cg_kernel_jit_code); int=$(ir cg_interp)
  ratio() { if [ "$2" = - ] || [ "$1" = - ]; then echo -; else echo "scale=3; $1 / $2" | bc; fi; }
  printf '%-9s %12s %12s %12s %12s %12s %9s %9s %9s\n' "$p" "$nat" "$nsc" "$jit" "$ker" "$int" "$(ratio "$jit" "$nat")" \
    "$(ratio "$jit" "$nsc")" "$(ratio "$jit" "$ker")"
done
echo "instructions per run (callgrind Ir; $calls calls each, the calling loop included; empty: the per-run cost)"
