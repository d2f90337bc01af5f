#!/usr/bin/env bash
# Regenerates the Kotlin and Swift bindings from the built library (library
# mode) into target/bindings/{kotlin,swift}. Generated code is never committed.
#
# The library and the generator are built in separate cargo invocations:
# built together, cargo unifies uniffi's `cli` feature into the library.
#
# Usage: tools/bindgen.sh [debug|release]   (default debug)
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-debug}"
flag=""
[ "$profile" = release ] && flag="--release"

cargo build --locked $flag -p countersign-ffi
cargo build --locked -p uniffi-bindgen

lib="target/$profile/libcountersign_ffi.so"
[ -f "$lib" ] || lib="target/$profile/libcountersign_ffi.dylib"
out="target/bindings"
rm -rf "$out/kotlin" "$out/swift"
for lang in kotlin swift; do
  target/debug/uniffi-bindgen generate "$lib" --language "$lang" \
    --out-dir "$out/$lang" --no-format --config uniffi.toml
done
find "$out" -type f | sort
