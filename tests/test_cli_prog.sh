#!/usr/bin/env bash
# bpfjet prog run on a raw instruction file (retval, data-out, --json, a clean failure on a fault), then
# prog load / dump / run and xdp run on the example objects (../shared/spec/cli.md).
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
echo "PASS: prog run (raw)"

build=${BJ_BUILD_ROOT:-build}
ex="$build/examples"
elf="$build/tests/elf"
one_line() { [ "$(wc -l <<<"$1")" = 1 ] && [[ $1 == "bpfjet: "* ]] || fail "not one 'bpfjet: ' line: $1"; }

# prog load: every program verified; --json; one program; errors as one line
out=$("$bpfjet" prog load "$ex/tail_call.bpf.o")
for p in xdp_entry stage_ipv4 stage_ipv6 stage_count; do
  grep -qx "$p: section xdp, type xdp, [0-9]* insns, verified" <<<"$out" || fail "prog load: $out"
done
out=$("$bpfjet" prog load "$ex/xdp_firewall.bpf.o" --json)
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); p=d["programs"]; assert len(p)==1 and p[0]["name"]=="xdp_firewall" and p[0]["type"]=="xdp" and not p[0]["checked"] and d["maps"]==4, d' "$out" \
  || fail "prog load --json: $out"
out=$("$bpfjet" prog load "$ex/tail_call.bpf.o" --prog stage_ipv6 --log-level 1)
[ "$(wc -l <<<"$out")" = 1 ] && grep -q '^stage_ipv6: ' <<<"$out" || fail "prog load --prog: $out"
if err=$("$bpfjet" prog load "$ex/tail_call.bpf.o" --prog nope 2>&1); then fail "unknown program accepted"; fi
[ "$err" = "bpfjet: prog load: $ex/tail_call.bpf.o: no program named 'nope' in object 'tail_call'" ] || fail "--prog nope: $err"
if err=$("$bpfjet" prog load "$elf/unknown_helper.bpf.o" 2>&1); then fail "unloadable program accepted"; fi
grep -q "program 'calls_unknown' (section 'xdp'): .*insn 1" <<<"$err" || fail "rejection: $err"
[[ $(tail -n1 <<<"$err") == "bpfjet: prog load: "* ]] || fail "rejection: $err"
if err=$("$bpfjet" prog load "$ex/xdp_firewall.bpf.o" --log-level 3 2>&1); then fail "log level 3 accepted"; fi
one_line "$err"
head -c 300 "$ex/xdp_firewall.bpf.o" > "$tmp/cut.o"
if err=$("$bpfjet" prog load "$tmp/cut.o" 2>&1); then fail "truncated object accepted"; fi
one_line "$err"
echo "PASS: prog load"

# prog dump: relocated text and the JIT's code under each instruction
"$bpfjet" prog dump xlated "$ex/xdp_firewall.bpf.o" | grep -q "map 'action_count'" || fail "dump xlated"
out=$("$bpfjet" prog dump jited "$ex/xdp_mac_swap.bpf.o")
grep -q '^; insn 0: ' <<<"$out" && grep -qE '^ +[0-9a-f]+:  ret' <<<"$out" || fail "dump jited: $(head -5 <<<"$out")"
if err=$("$bpfjet" prog dump jited "$ex/xdp_mac_swap.bpf.o" --data-in x 2>&1); then fail "dump with --data-in"; fi
one_line "$err"
echo "PASS: prog dump"

# prog run on objects: an XDP program on one frame (MACs swapped, XDP_TX), a memory program with .bss
printf '\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00' > "$tmp/eth"
head -c 50 /dev/zero >> "$tmp/eth"
for engine in interp jit; do
  out=$("$bpfjet" prog run "$ex/xdp_mac_swap.bpf.o" --engine $engine --data-in "$tmp/eth" --data-out "$tmp/swapped" --json --repeat 5)
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["retval"]==3 and d["data_size_out"]==64, d' "$out" \
    || fail "prog run xdp ($engine): $out"
  [ "$(head -c 12 "$tmp/swapped" | od -An -tx1 | tr -d ' \n')" = 020000000002020000000001 ] || fail "MAC swap ($engine)"
done
printf '\0\0\5\0' > "$tmp/mem"
out=$("$bpfjet" prog run "$elf/mem_calls.bpf.o" --prog second --data-in "$tmp/mem")
grep -qx 'retval: 26 (0x1a)' <<<"$out" || fail "prog run mem: $out"
# a struct xdp_md context: ingress_ifindex reaches the program (unknown_helper's is refused before that)
printf '\0\0\0\0\100\0\0\0\0\0\0\0\7\0\0\0\0\0\0\0\0\0\0\0' > "$tmp/ctx"
"$bpfjet" prog run "$ex/xdp_mac_swap.bpf.o" --data-in "$tmp/eth" --ctx-in "$tmp/ctx" >/dev/null || fail "--ctx-in"
if err=$("$bpfjet" prog run "$ex/xdp_mac_swap.bpf.o" --data-in "$tmp/eth" --ctx-in "$tmp/mem" 2>&1); then fail "short ctx accepted"; fi
one_line "$err"
if err=$("$bpfjet" prog run "$ex/xdp_mac_swap.bpf.o" --data-in "$tmp/mem" 2>&1); then fail "4-byte frame accepted"; fi
grep -q 'needs at least an Ethernet header' <<<"$err" && one_line "$err" || fail "short frame: $err"
if err=$("$bpfjet" prog run "$ex/socket_filter.bpf.o" --data-in "$tmp/eth" 2>&1); then fail "socket filter ran"; fi
[ "$err" = "bpfjet: prog run: socket_tcp_only: programs of type socket_filter need an sk_buff, which bpfjet does not run" ] \
  || fail "socket filter: $err"
echo "PASS: prog run (objects)"

# xdp run: a program with maps and tail calls over a generated capture
python3 "${BJ_SOURCE_ROOT:-.}/scripts/gen-pcap.py" --count 500 --seed 3 "$tmp/t.pcap"
out=$("$bpfjet" xdp run "$ex/xdp_firewall.bpf.o" --pcap-in "$tmp/t.pcap" --engine jit --json)
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["packets"]==500 and sum(d["actions"].values())==500 and d["actions"]["XDP_TX"]>0, d' "$out" \
  || fail "xdp run firewall: $out"
out=$("$bpfjet" xdp run "$ex/tail_call.bpf.o" --prog xdp_entry --pcap-in "$tmp/t.pcap" --json 2>/dev/null)
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["packets"]==500 and d["actions"]["XDP_TX"]>0 and d["actions"]["XDP_DROP"]>0, d' "$out" \
  || fail "xdp run tail_call: $out"
if kout=$("$bpfjet" xdp run "$ex/xdp_firewall.bpf.o" --pcap-in "$tmp/t.pcap" --kernel --json 2>&1); then
  python3 -c '
import json, sys
b, k = json.loads(sys.argv[1]), json.loads(sys.argv[2])
# frames under 14 bytes: the kernel refuses them, the firewall drops them
assert k["packets"] == 500, k
for a, n in b["actions"].items():
    assert n == k["actions"][a] + (k["refused"] if a == "XDP_DROP" else 0), (a, b, k)' "$(
    "$bpfjet" xdp run "$ex/xdp_firewall.bpf.o" --pcap-in "$tmp/t.pcap" --json)" "$kout" || fail "kernel counts: $kout"
  echo "PASS: xdp run (bpfjet and kernel agree)"
else
  echo "skipped: xdp run --kernel: $kout"
  echo "PASS: xdp run"
fi

# xdp attach: the firewall (maps included) on one end of a veth pair in a namespace of its own; 100 UDP
# frames for the service port sent into the other end come back as XDP_TX
ns=bjcli$$
if [ "$(id -u)" = 0 ] && ip netns add "$ns" 2>/dev/null; then
  trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"' EXIT
  ip -n "$ns" link add bjc0 type veth peer name bjc1 && ip -n "$ns" link set bjc0 up && ip -n "$ns" link set bjc1 up \
    || fail "veth pair"
  ip netns exec "$ns" "$bpfjet" xdp attach "$ex/xdp_firewall.bpf.o" --dev bjc0 --mode afpacket --duration 2 --json \
    > "$tmp/attach.json" 2>"$tmp/attach.err" &
  attach=$!
  sleep 0.7
  ip netns exec "$ns" python3 -c '
import socket, struct
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("bjc1", 0))
eth = bytes.fromhex("020000000001020000000002") + b"\x08\x00"
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 0, 0x4000, 64, 17, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
udp = struct.pack("!HHHH", 40000, 8080, 8, 0)
for _ in range(100):
    s.send(eth + ip + udp + bytes(18))'
  wait $attach || fail "xdp attach: $(cat "$tmp/attach.err")"
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["actions"]["XDP_TX"]==100 and d["tx"]==100, d' \
    "$tmp/attach.json" || fail "xdp attach counts: $(cat "$tmp/attach.json")"
  echo "PASS: xdp attach"
else
  echo "skipped: xdp attach: needs root and network namespaces"
fi
