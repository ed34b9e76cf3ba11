#!/usr/bin/env bash
# Seeds fuzz_jit with every conformance program (raw instruction bytes).
set -euo pipefail
out=$1
index=${BJ_CONFORMANCE_DIR:-../shared/conformance}/index.tsv
[ -f "$index" ] || exit 0
tail -n +2 "$index" | while IFS=$'\t' read -r file _ _ _ _ _ _ prog; do
  printf '%s' "$prog" | xxd -r -p > "$out/${file%.data}"
done
