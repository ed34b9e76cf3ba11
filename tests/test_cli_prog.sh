#!/usr/bin/env bash
# bpfjet prog run on a raw instruction file: retval, data-out, --json, and a clean failure on a fault.
set -euo pipefail
bpfjet=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# r0 = mem[0] + len; mem[0] = 0x55; exit
printf '\x71\x10\x00\x00\x00\x00\x00\x00\x0f\x20\x00\x00\x00\x00\x00\x00\x72\x01\x00\x00\x55\x00\x00\x00\x95\x00\x00\x00\x00\x00\x00\x00' > "$tmp/p.bin"
printf '\x07abc' > "$tmp/in"

out=$("$bpfjet" prog run "$tmp/p.bin" --data-in "$tmp/in" --data-out "$tmp/out" --repeat 3)
grep -qx 'retval: 11 (0xb)' <<<"$out" || fail "text output: $out"
grep -qx 'data_size_out: 4' <<<"$out" || fail "text output: $out"
[ "$(od -An -tx1 "$tmp/out" | tr -d ' ')" = 55616263 ] || fail "data-out: $(od -An -tx1 "$tmp/out")"

out=$("$bpfjet" prog run "$tmp/p.bin" --data-in "$tmp/in" --json --unchecked)
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["retval"]==11 and d["data_size_out"]==4 and d["duration_ns"]>=0, d' "$out" \
  || fail "json output: $out"

# without data, the first load faults: exit 1 and one line naming the instruction
if err=$("$bpfjet" prog run "$tmp/p.bin" 2>&1); then fail "fault not reported"; fi
[ "$err" = "bpfjet: prog run: $tmp/p.bin: out of bounds load of 1 byte at 0x0 at insn 0" ] || fail "fault message: $err"

printf '\x95\x00\x00' > "$tmp/bad.bin"
if err=$("$bpfjet" prog run "$tmp/bad.bin" 2>&1); then fail "truncated file accepted"; fi
grep -q 'not a whole number of 8-byte instructions' <<<"$err" || fail "truncated file: $err"
echo "PASS: prog run"
