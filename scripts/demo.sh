#!/usr/bin/env bash
# The main job on bundled data: the example firewall (examples/bpf/xdp_firewall.bpf.c) over ~100k frames of
# mixed traffic, through bpfjet's batched JIT, and through the kernel's BPF_PROG_TEST_RUN when it can run BPF.
set -euo pipefail
build=${1:-build}
bj="$build/bpfjet"
obj="$build/examples/xdp_firewall.bpf.o"
out="$build/demo"
pcap="$out/traffic.pcap"
frames=100000
mkdir -p "$out"
"$bj" --version

# Deterministic: the same seed always gives the same bytes, so the file is made again only when the
# generator changes.
if [ ! -s "$pcap" ] || [ scripts/gen-pcap.py -nt "$pcap" ]; then
  python3 scripts/gen-pcap.py --count "$frames" --seed 1 "$pcap"
fi

json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

echo
echo "== xdp_firewall over $frames frames ($pcap), bpfjet JIT, batched"
"$bj" xdp run "$obj" --pcap-in "$pcap" --engine jit --exec rewrite
# The figure is the best of five runs of four passes each: time in user space also counts the moments other
# processes take the CPU, and the least disturbed run is the closest to the program's own cost.
bj_ns=$(for run in 1 2 3 4 5; do
  "$bj" xdp run "$obj" --pcap-in "$pcap" --engine jit --exec rewrite --repeat 4 --json | json_field ns_per_packet
done | sort -g | head -n1)
printf 'bpfjet: %.2f ns/packet (best of 5 runs of 4 passes)\n' "$bj_ns"

echo
echo "== the same object in the kernel, BPF_PROG_TEST_RUN frame by frame"
if [ "$(id -u)" != 0 ]; then
  echo "skipped: the kernel runs BPF test runs for root only (run 'sudo make demo' to compare)"
  exit 0
fi
if ! kernel_json=$("$bj" xdp run "$obj" --pcap-in "$pcap" --kernel --json 2>"$out/kernel.err"); then
  echo "skipped: $(cat "$out/kernel.err")"
  exit 0
fi
"$bj" xdp run "$obj" --pcap-in "$pcap" --kernel
# One run per frame: with a repeat count the kernel swaps its XDP dispatcher around every call (an RCU
# grace period each), which makes a pass over the file take minutes.
kernel_ns=$(json_field ns_per_packet <<<"$kernel_json")
python3 -c 'import sys; k, b = map(float, sys.argv[1:]); print("kernel: %.2f ns/packet, bpfjet batched JIT: %.2f ns/packet, ratio %.2f (kernel / bpfjet: above 1, bpfjet is faster)" % (k, b, k / b))' \
  "$kernel_ns" "$bj_ns"
echo "(the kernel's figure is its own BPF_PROG_TEST_RUN duration; it refuses frames under 14 bytes, which bpfjet drops)"
