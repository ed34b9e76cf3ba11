#!/usr/bin/env bash
# Fills a directory with small generated pcap and pcapng files to seed fuzz_pcap.
set -euo pipefail
dir=$1
gen="$(dirname "$0")/../scripts/gen-pcap.py"
for seed in 1 2 3; do
  python3 "$gen" --count $((seed * 4)) --seed "$seed" "$dir/seed-$seed.pcap"
  python3 "$gen" --count $((seed * 4)) --seed "$seed" --pcapng "$dir/seed-$seed.pcapng"
done
