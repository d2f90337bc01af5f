#!/usr/bin/env bash
# Kotlin side of the FFI cost benchmark: builds the release library, compiles
# the Kotlin test tree (tools/kotlin-test.sh's pipeline) and runs
# org.countersign.android.bench.FfiBench against target/release.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --release -p countersign-ffi
KT_MAIN=org.countersign.android.bench.FfiBench KT_LIBDIR=target/release ./tools/kotlin-test.sh
