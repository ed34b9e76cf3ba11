#!/usr/bin/env bash
# Seeds the loader fuzzer with every example and fixture object the build produced.
set -euo pipefail
out=$1
for d in build-fuzz build; do
  for f in "$d"/examples/*.bpf.o "$d"/tests/elf/*.bpf.o; do
    [ -f "$f" ] && cp "$f" "$out/"
  done
done
exit 0
