#!/usr/bin/env bash
# The workspace's one debug build: exactly what `cargo nextest run --workspace
# --exclude uniffi-bindgen` builds (same targets, so the same features), so
# after the Rust tests it is a no-op. Building a single package with `-p`
# instead would unify features differently and compile ~60 crates a second
# time (a minute and ~400 MB on CI).
#
# Puts the host phone library where the binding tools expect it:
#   target/host-lib/libcountersign_ffi.{so,dylib}
# and leaves the binaries in target/debug (countersign, countersign-server).
# Prints the library's path last.
set -euo pipefail
cd "$(dirname "$0")/.."

lib=$(cargo test --no-run --locked --workspace --exclude uniffi-bindgen \
  --message-format=json-render-diagnostics |
  python3 -c '
import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("reason") != "compiler-artifact" or msg["target"]["name"] != "countersign_ffi":
        continue
    if msg["profile"]["test"]:
        continue
    for f in msg["filenames"]:
        if f.endswith((".so", ".dylib")):
            print(f)
')
[ -n "$lib" ] || { echo "build-debug: no countersign_ffi cdylib in cargo's output" >&2; exit 1; }
mkdir -p target/host-lib
cp -f "$lib" target/host-lib/
echo "$PWD/target/host-lib/$(basename "$lib")"
