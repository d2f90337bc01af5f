#!/usr/bin/env bash
# Regenerates the Kotlin and Swift bindings from the built library (library
# mode) into target/bindings/{kotlin,swift}. Generated code is never committed.
#
# The library and the generator are built in separate cargo invocations:
# built together, cargo unifies uniffi's `cli` feature into the library.
#
# Usage: tools/bindgen.sh [debug|release]   (default debug: target/host-lib,
# see tools/build-debug.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-debug}"

if [ "$profile" = release ]; then
  cargo build --locked --release -p countersign-ffi
  lib="target/release/libcountersign_ffi.so"
  [ -f "$lib" ] || lib="target/release/libcountersign_ffi.dylib"
else
  # The tests' own debug build (a no-op after cargo nextest).
  lib=$(./tools/build-debug.sh | tail -n 1)
fi
cargo build --locked --profile bindgen -p uniffi-bindgen  # unoptimised: see [profile.bindgen]
out="target/bindings"
rm -rf "$out/kotlin" "$out/swift"
for lang in kotlin swift; do
  target/bindgen/uniffi-bindgen generate "$lib" --language "$lang" \
    --out-dir "$out/$lang" --no-format --config uniffi.toml
done
find "$out" -type f | sort
