#!/usr/bin/env bash
# Installs the Debian packages bpfjet needs, and only when one is missing, so that
# `make demo` and `make test` work on a fresh Debian 12 machine.
set -euo pipefail

packages=(
  build-essential meson ninja-build pkg-config clang llvm lld
  libelf-dev zlib1g-dev libbpf-dev libcmocka-dev libcapstone-dev
  libpcap-dev libxdp-dev libclang-rt-14-dev
  iproute2 bpftool valgrind python3
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
