#!/usr/bin/env python3
"""cargo-bloat-style breakdown of a shared library's code by crate.

cargo-bloat refuses a package with several crate types (ours is cdylib +
staticlib + lib), so this reads the symbol table of the unstripped build
(`cargo build --profile release-debug -p countersign-ffi`) with `nm` and
sums code-symbol sizes by the crate at the start of each demangled name.
C and assembly symbols are grouped by library (SQLite, ring).

Usage: tools/size-by-crate.py target/release-debug/libcountersign_ffi.so [N]
"""
import collections
import re
import subprocess
import sys


def crate_of(name: str) -> str:
    m = re.match(r"^<*([A-Za-z_][A-Za-z0-9_]*)::", name)
    if m:
        return m.group(1)
    if name.startswith("ring_core_"):
        return "ring (C/asm)"
    return "SQLite and other C (static functions)"


def main() -> None:
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    out = subprocess.run(["nm", "--print-size", "--size-sort", "-C", path],
                         check=True, capture_output=True, text=True).stdout
    sizes = collections.Counter()
    total = 0
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) < 4 or parts[2] not in "tTwW":
            continue
        size = int(parts[1], 16)
        total += size
        name = parts[3].strip()
        sizes["SQLite (C)" if name.startswith("sqlite3") else crate_of(name)] += size
    print(f"| crate | code (KiB) | share |\n|---|---|---|")
    for crate, size in sizes.most_common(top):
        print(f"| {crate} | {size / 1024:.0f} | {100 * size / total:.1f} % |")
    print(f"| **all code symbols** | **{total / 1024:.0f}** | |")


if __name__ == "__main__":
    main()
