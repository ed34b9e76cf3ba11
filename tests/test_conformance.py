#!/usr/bin/env python3
"""Runs every row of $BJ_CONFORMANCE_DIR/index.tsv through bpfjet-plugin, as the bpf_conformance runner does.

usage: test_conformance.py PLUGIN ENGINE...
One process per test and engine: `PLUGIN [MEM] --engine ENGINE`, the program on stdin as "%02x" bytes each
followed by two spaces and a newline, r0 read from stdout in base 16 and compared on all 64 bits.
"""
import os
import subprocess
import sys


def hex_bytes(h):
    return "".join(f"{h[i:i + 2]}  " for i in range(0, len(h), 2))


def run_one(plugin, engine, row):
    mem = row["mem_hex"] if row["mem_hex"] != "-" else ""
    argv = [plugin] + ([hex_bytes(mem)] if mem else []) + ["--engine", engine]
    p = subprocess.run(argv, input=hex_bytes(row["program_hex"]) + "\n", capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0:
        return f"plugin exited {p.returncode}: {(p.stdout or p.stderr).strip()}"
    try:
        got = int(p.stdout.split()[0], 16) & (2**64 - 1)
    except (ValueError, IndexError):
        return f"unparsable output {p.stdout!r}"
    want = int(row["expected"], 16 if "0x" in row["expected"] else 10) & (2**64 - 1)
    return None if got == want else f"r0 0x{got:x}, expected 0x{want:x}"


def main():
    plugin, engines = sys.argv[1], sys.argv[2:]
    index = os.path.join(os.environ["BJ_CONFORMANCE_DIR"], "index.tsv")
    lines = open(index).read().splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"))) for line in lines[1:] if line]
    passed = total = 0
    for engine in engines:
        for row in rows:
            total += 1
            err = run_one(plugin, engine, row)
            name = f'"{row["file"]}" [{engine}]'
            if err:
                print(f"FAIL: {name} {err}")
            else:
                passed += 1
                print(f"PASS: {name}")
    print(f"Passed {passed} out of {total} tests.")
    return 0 if passed == total and total > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
