#!/usr/bin/env bash
# Builds Countersign.xcframework (the Rust core as a static library for iOS
# devices, the iOS simulator and macOS) and copies the UniFFI-generated Swift
# bindings into the Swift package. Neither output is committed.
#
# Needs a Mac with Xcode (xcodebuild, lipo, the iOS SDKs) and rustup. It does
# not run on Linux; there, tools/swift-check.sh checks the Swift sources.
#
# Usage: ios/build-xcframework.sh [--no-macos]
#   --no-macos   skip the macOS slice (then only `xcodebuild test` on an iOS
#                simulator works, not `swift test` on the Mac itself)
# Environment: PROFILE (default mobile: release optimised for size; e.g.
# release-debug for profiling).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
profile="${PROFILE:-mobile}"
with_macos=1
for arg in "$@"; do
  case "$arg" in
    --no-macos) with_macos=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

for tool in cargo xcodebuild lipo; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "build-xcframework.sh: '$tool' not found; this script needs a Mac with Xcode and Rust" >&2
    exit 1
  fi
done

# Match Package.swift's platforms so the linker does not warn about objects
# built for newer OS versions (the cc crate reads these for SQLite and ring).
export IPHONEOS_DEPLOYMENT_TARGET=15.0
export MACOSX_DEPLOYMENT_TARGET=12.0

ios_device=aarch64-apple-ios
ios_sim=(aarch64-apple-ios-sim x86_64-apple-ios)
macos=(aarch64-apple-darwin x86_64-apple-darwin)
targets=("$ios_device" "${ios_sim[@]}")
if [ "$with_macos" = 1 ]; then
  targets+=("${macos[@]}")
fi

cd "$root"
if command -v rustup >/dev/null 2>&1; then
  rustup target add "${targets[@]}"
fi

lib=libcountersign_ffi.a
for t in "${targets[@]}"; do
  # Only the static library: one output type lets LTO drop the most.
  echo "==> cargo rustc -p countersign-ffi --crate-type staticlib --target $t ($profile)"
  cargo rustc --locked -p countersign-ffi --lib --crate-type staticlib --profile "$profile" --target "$t"
done

# Swift bindings, generated in library mode from a host build of the same
# source (tools/bindgen.sh builds the library and the workspace's
# uniffi-bindgen separately and passes --config uniffi.toml).
echo "==> generating Swift bindings"
"$root/tools/bindgen.sh"
gen="$root/target/bindings/swift"
for f in Countersign.swift CountersignFFI.h CountersignFFI.modulemap; do
  [ -f "$gen/$f" ] || { echo "missing generated file $gen/$f" >&2; exit 1; }
done

work="$here/build"
rm -rf "$work"
mkdir -p "$work/headers" "$work/ios" "$work/ios-sim" "$work/macos"
cp "$gen/CountersignFFI.h" "$work/headers/"
# xcodebuild and SwiftPM look for exactly this file name in a headers dir.
cp "$gen/CountersignFFI.modulemap" "$work/headers/module.modulemap"

out() { echo "$root/target/$1/$profile/$lib"; }
cp "$(out "$ios_device")" "$work/ios/$lib"
lipo -create "$(out "${ios_sim[0]}")" "$(out "${ios_sim[1]}")" -output "$work/ios-sim/$lib"
args=(-library "$work/ios/$lib" -headers "$work/headers"
      -library "$work/ios-sim/$lib" -headers "$work/headers")
if [ "$with_macos" = 1 ]; then
  lipo -create "$(out "${macos[0]}")" "$(out "${macos[1]}")" -output "$work/macos/$lib"
  args+=(-library "$work/macos/$lib" -headers "$work/headers")
fi

echo "==> xcodebuild -create-xcframework"
rm -rf "$here/Countersign.xcframework"
xcodebuild -create-xcframework "${args[@]}" -output "$here/Countersign.xcframework"

mkdir -p "$here/Sources/Countersign/Generated"
cp "$gen/Countersign.swift" "$here/Sources/Countersign/Generated/Countersign.swift"

echo "==> done: $here/Countersign.xcframework and Sources/Countersign/Generated/Countersign.swift"
echo "    next: cd ios && swift test"
