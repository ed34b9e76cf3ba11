#!/usr/bin/env bash
# Runs the multi-thread map tests under ThreadSanitizer (a separate build directory, build-tsan/).
set -euo pipefail
[ -f build-tsan/build.ninja ] || meson setup build-tsan -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debug >/dev/null
ninja -C build-tsan tests/test_maps_stress
TSAN_OPTIONS=halt_on_error=1 ./build-tsan/tests/test_maps_stress
