#!/usr/bin/env bash
# Copies every conformance and negative .data file into the directory $1.
set -euo pipefail
out=${1:?usage: seed_datafile.sh DIR}
suite=${BJ_CONFORMANCE_DIR:-$(dirname "$0")/../../shared/conformance}
mkdir -p "$out"
for f in "$suite"/tests/*.data "$suite"/negative/*.data; do
  cp "$f" "$out/$(basename "$(dirname "$f")")-$(basename "$f")"
done
