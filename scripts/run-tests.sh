#!/usr/bin/env bash
# Runs every test of a build directory and ends with the line "N passed, N failed".
set -u
build=${1:-build}
meson test -C "$build" --print-errorlogs --num-processes "$(nproc)"
status=$?
log="$build/meson-logs/testlog.json"
if [ -f "$log" ]; then
  python3 - "$log" <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): passed += 1
    elif r == "SKIP": skipped += 1
    else: failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
fi
exit $status
