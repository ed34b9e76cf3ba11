#!/usr/bin/env bash
# Fills DIR with the conformance suite's programs (index.tsv, program_hex column) as raw instruction files.
set -euo pipefail
dir=$1
index=${BJ_CONFORMANCE_DIR:-$(dirname "$0")/../../shared/conformance}/index.tsv
mkdir -p "$dir"
python3 - "$index" "$dir" <<'PY'
import sys
index, out = sys.argv[1], sys.argv[2]
rows = open(index).read().splitlines()
header = rows[0].split("\t")
for line in rows[1:]:
    row = dict(zip(header, line.split("\t")))
    open(f"{out}/{row['file']}.bin", "wb").write(bytes.fromhex(row["program_hex"]))
PY
