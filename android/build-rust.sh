#!/usr/bin/env bash
# Cross-compiles the Countersign core's FFI library (crate countersign-ffi,
# libcountersign_ffi.so) for the Android ABIs the app ships, in the `mobile`
# profile (release, optimised for size), into src/main/jniLibs/<abi>/ where
# Gradle packages it.
#
# Needs (not available on the project's CI machines; run it on a developer
# machine with the Android SDK):
#   - the Android NDK (r26+; ANDROID_NDK_HOME, or ANDROID_HOME/ndk/<version>),
#   - cargo-ndk:  cargo install cargo-ndk --locked
#   - the Rust targets (added below when rustup is present).
# The Gradle task `buildRust` runs this script before every build
# (skip with -Pcountersign.skipRust=true).
#
# Usage: android/build-rust.sh [extra cargo args…]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
out="$here/src/main/jniLibs"
api_level=28 # = minSdk in build.gradle.kts
abis=(arm64-v8a armeabi-v7a x86_64)
rust_targets=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android)

if ! cargo ndk --version >/dev/null 2>&1; then
  echo "build-rust.sh: cargo-ndk is missing; install it with: cargo install cargo-ndk --locked" >&2
  exit 1
fi
if [ -z "${ANDROID_NDK_HOME:-}${ANDROID_NDK_ROOT:-}" ] && [ ! -d "${ANDROID_HOME:-/nonexistent}/ndk" ]; then
  echo "build-rust.sh: no NDK found; set ANDROID_NDK_HOME (or install one under \$ANDROID_HOME/ndk)" >&2
  exit 1
fi
if command -v rustup >/dev/null 2>&1; then
  rustup target add "${rust_targets[@]}"
fi

target_args=()
for abi in "${abis[@]}"; do
  target_args+=(-t "$abi")
done

# 16 KB ELF alignment, required for apps targeting Android 15+ devices with
# 16 KB pages (the default only from NDK r28). With --target, RUSTFLAGS reach
# the target artifacts only, not build scripts.
export RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-Wl,-z,max-page-size=16384"

mkdir -p "$out"
cd "$root"
# `rustc --crate-type cdylib` builds only the shared library: with a single
# output type fat LTO can drop much more (x86_64: 3.56 MiB instead of 4.33 MiB
# for `cargo build`, which also emits the staticlib and rlib; see
# docs/benchmarks.md).
cargo ndk "${target_args[@]}" --platform "$api_level" -o "$out" \
  rustc --profile mobile --locked -p countersign-ffi --lib --crate-type cdylib "$@"

find "$out" -name 'libcountersign_ffi.so' | sort
