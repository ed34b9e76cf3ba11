#!/usr/bin/env bash
# Writes every conformance program (program_hex of index.tsv) as raw instruction bytes into the directory $1.
set -euo pipefail
out=${1:?usage: seed_decode.sh DIR}
suite=${BJ_CONFORMANCE_DIR:-$(dirname "$0")/../../shared/conformance}
mkdir -p "$out"
tail -n +2 "$suite/index.tsv" | while IFS=$'\t' read -r file _ _ _ _ _ _ hex; do
  printf '%s' "$hex" | xxd -r -p >"$out/${file%.data}.bin"
done
