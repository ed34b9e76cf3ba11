#!/usr/bin/env bash
# Writes every program of the verifier's corpus (tests/verifier/asm/*.s) into DIR in fuzz_verifier's input
# format: the header bytes from the program's type and maps, then its instructions (assembled by bpfjet).
set -euo pipefail
out=${1:?usage: seed_verifier.sh DIR}
here=$(dirname "$0")
bpfjet=${BJ_BPFJET:-}
for b in "$here/../build-fuzz/bpfjet" "$here/../build/bpfjet"; do
  [ -z "$bpfjet" ] && [ -x "$b" ] && bpfjet=$b
done
[ -n "$bpfjet" ] || { echo "seed_verifier.sh: no bpfjet binary (set BJ_BPFJET)" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for s in "$here"/../tests/verifier/asm/*.s; do
  "$bpfjet" asm "$s" -o "$tmp" >/dev/null
  python3 - "$s" "$tmp" "$out/$(basename "$s" .s).bin" <<'PY'
import re, sys
src, insns, dst = sys.argv[1:]
types = {"mem": 0, "xdp": 1, "socket": 2, "tc": 3}
attach = {"devmap": 1, "cpumap": 2}
# Indexes into fuzz_verifier.c's map_types[].
map_index = {"hash": 0, "array": 1, "prog_array": 2, "percpu_array": 3, "ringbuf": 4, "devmap": 5,
             "lru_hash": 6, "percpu_hash": 7}
hdr = {"type": "mem", "attach": None, "mem_size": "0", "strict": None}
maps = []
for line in open(src):
    if not line.startswith("#"):
        break
    m = re.match(r"# (\w+): (.*)", line.strip())
    if not m:
        continue
    key, value = m.groups()
    if key == "map":
        f = value.split()
        kv = dict(x.split("=") for x in f[1:])
        flags = int(kv.get("flags", "0"), 0)
        maps.append(bytes([map_index.get(f[0], 1) | (0x80 if flags & 0x80 else 0),
                           int(kv["key"]) & 0xff, int(kv["value"]) & 0xff, min(int(kv["entries"]), 255)]))
    else:
        hdr[key] = value
b0 = types[hdr["type"]] | attach.get(hdr["attach"], 0) << 2 | (1 << 5)
head = bytes([b0, int(hdr["mem_size"]) & 0xff, min(len(maps), 3) | (2 << 2)]) + b"".join(maps[:3])
open(dst, "wb").write(head + open(insns, "rb").read())
PY
done
