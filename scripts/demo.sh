#!/usr/bin/env bash
# The main job on bundled data: assemble bundled programs and run them on every engine.
set -euo pipefail
build=${1:-build}
bj="$build/bpfjet"
out="$build/demo"
mkdir -p "$out"
"$bj" --version
for prog in examples/asm/*.s; do
  name=$(basename "$prog" .s)
  "$bj" asm "$prog" -o "$out/$name.bin"
  echo "== $name ($(( $(stat -c %s "$out/$name.bin") / 8 )) instructions)"
  for engine in interp; do
    printf '%-7s ' "$engine"
    "$bj" prog run "$out/$name.bin" --engine "$engine" --data-in README.md --repeat 20
  done
done
