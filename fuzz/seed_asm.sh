#!/usr/bin/env bash
# Writes the -- asm section of every conformance test into the directory $1 (one seed per file).
set -euo pipefail
out=${1:?usage: seed_asm.sh DIR}
suite=${BJ_CONFORMANCE_DIR:-$(dirname "$0")/../../shared/conformance}
mkdir -p "$out"
for f in "$suite"/tests/*.data; do
  awk '/--/ { on = ($0 ~ /-- asm/); next } on' "$f" >"$out/$(basename "$f" .data).s"
done
