#!/usr/bin/env bash
# The main job on bundled data.
set -euo pipefail
build=${1:-build}
"$build/bpfjet" --version
