#!/usr/bin/env bash
# JVM tests of the Android shell (android/): compiles the generated UniFFI
# Kotlin bindings, the JVM-compatible Kotlin of android/src/main (everything
# outside the Android-only `platform/` package) and android/src/test with the
# npm-pinned Kotlin compiler, then runs them with JUnit 4 against the host
# build of the core (target/host-lib/libcountersign_ffi.so, tools/build-debug.sh)
# through JNA.
#
# No Gradle, Android SDK or Maven Central needed. Idempotent; on a fresh
# Debian machine (as root, with Rust, Node and a JDK 17) it installs what it
# needs: JNA, JUnit 4 and Hamcrest from Debian, kotlinc from npm
# (tools/kotlin/package-lock.json, `npm ci`).
#
# The last line of the test output is `kotlin: N passed, N failed`; the exit
# status is non-zero on any failure.
#
# Usage: tools/kotlin-test.sh [TestClass…]   (default: every *Test class)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

t_start=$(date +%s.%N)
t_last=$t_start
step() { printf '\n==> %s\n' "$*"; }
lap() {
  local now
  now=$(date +%s.%N)
  awk -v a="$t_last" -v b="$now" -v n="$1" 'BEGIN { printf "    (%s: %.1f s)\n", n, b - a }'
  t_last=$now
}

# --- Debian packages: JNA, JUnit 4, Hamcrest -------------------------------
step "jars (Debian: libjna-java junit4 libhamcrest-java)"
jna=/usr/share/java/jna.jar
junit=/usr/share/java/junit4.jar
hamcrest=/usr/share/java/hamcrest.jar
if [ ! -f "$jna" ] || [ ! -f "$junit" ] || [ ! -f "$hamcrest" ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root (or sudo) to apt-get install" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    libjna-java junit4 libhamcrest-java
fi
for jar in "$jna" "$junit" "$hamcrest"; do echo "    $(readlink -f "$jar")"; done
lap jars

# --- Kotlin compiler from npm ----------------------------------------------
step "kotlinc (npm ci in tools/kotlin)"
command -v java >/dev/null || { echo "java (JDK 17+) is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "node/npm is required" >&2; exit 1; }
kdir="$root/tools/kotlin"
kc="$kdir/node_modules/kotlin-compiler"
want=$(node -p 'require(process.argv[1]).packages["node_modules/kotlin-compiler"].version' "$kdir/package-lock.json")
have=$(node -p 'try { require(process.argv[1]).version } catch (e) { "" }' "$kc/package.json")
if [ "$have" != "$want" ] || [ ! -x "$kc/bin/kotlinc" ]; then
  (cd "$kdir" && npm ci --no-audit --no-fund)
fi
kotlinc="$kc/bin/kotlinc"
klib="$kc/lib"
echo "    kotlin-compiler $want"
lap kotlinc

# --- Host library and generated bindings -----------------------------------
step "bindings (tools/bindgen.sh, debug)"
./tools/bindgen.sh debug
out="$root/target/kotlin"
mkdir -p "$out"
# Snapshot the generated file: another build may regenerate it meanwhile.
rm -rf "$out/gen"
mkdir -p "$out/gen"
cp -R target/bindings/kotlin/. "$out/gen/"
libdir="$root/${KT_LIBDIR:-target/host-lib}"
[ -f "$libdir/libcountersign_ffi.so" ] || [ -f "$libdir/libcountersign_ffi.dylib" ] || {
  echo "no libcountersign_ffi in $libdir" >&2
  exit 1
}
lap bindings

# --- Sources ----------------------------------------------------------------
step "sources"
main_src="android/src/main/kotlin"
test_src="android/src/test/kotlin"
platform_dir="$main_src/org/countersign/android/platform"
mapfile -t gen_files < <(find "$out/gen" -name '*.kt' | sort)
mapfile -t main_files < <(find "$main_src" -name '*.kt' -not -path "$platform_dir/*" | sort)
mapfile -t test_files < <(find "$test_src" -name '*.kt' | sort)
[ "${#gen_files[@]}" -gt 0 ] || { echo "no generated bindings" >&2; exit 1; }
# Android-only code must live under platform/: anything else is compiled here.
if leaks=$(grep -lE '^import (android|androidx|com\.google\.firebase)\.' "${main_files[@]}" "${test_files[@]}"); then
  echo "Android-only imports outside $platform_dir:" >&2
  echo "$leaks" >&2
  exit 1
fi
echo "    ${#gen_files[@]} generated, ${#main_files[@]} main (JVM), ${#test_files[@]} test files;" \
  "$(find "$platform_dir" -name '*.kt' | wc -l) Android-only files not compiled here"

cp_compile="$jna:$junit:$hamcrest:$klib/kotlinx-coroutines-core-jvm.jar"
cp_run="$out/classes:$klib/kotlin-stdlib.jar:$cp_compile"

# --- Compile (skipped when nothing changed) ---------------------------------
step "compile (kotlinc -jvm-target 17 -Werror)"
stamp=$(
  {
    echo "kotlin-compiler $want" "$cp_compile"
    sha256sum "${gen_files[@]}" "${main_files[@]}" "${test_files[@]}" | sed "s|$out/gen/||"
  } | sha256sum | cut -d' ' -f1
)
if [ -f "$out/classes.stamp" ] && [ "$(cat "$out/classes.stamp")" = "$stamp" ] && [ -d "$out/classes" ]; then
  echo "    up to date"
else
  rm -rf "$out/classes" "$out/classes.stamp"
  if ! "$kotlinc" -jvm-target 17 -Werror -cp "$cp_compile" -d "$out/classes" \
    "${gen_files[@]}" "${main_files[@]}" "${test_files[@]}" 2>&1 | tee "$out/kotlinc.log"; then
    if grep -q "hides member of supertype 'Throwable'" "$out/kotlinc.log"; then
      cat >&2 <<'HINT'

hint: an exported error variant has a field named like a Throwable member
(`message`, `cause`): UniFFI's Kotlin output cannot compile it (uniffi-rs
#1434). Rename the field in Rust, or rename it for Kotlin only in uniffi.toml:
  [crates.countersign_ffi.bindings.kotlin.rename]
  "AuthError.Variant.message" = "serverMessage"
HINT
    fi
    echo "kotlinc failed (log: $out/kotlinc.log)" >&2
    exit 1
  fi
  echo "$stamp" >"$out/classes.stamp"
fi
lap compile

# --- A real sign-in server for the approve-flow test ---------------------------
step "sign-in server (target/debug/countersign-server on loopback)"
./tools/build-debug.sh >/dev/null  # no-op after tools/bindgen.sh above
srv_dir=$(mktemp -d)
srv_log="$srv_dir/server.log"
# Every test request comes from 127.0.0.1: lift the per-address request budget.
target/debug/countersign-server serve --data-dir "$srv_dir/data" --listen 127.0.0.1:0 --name "JVM NAS" \
  --requests-per-ip-per-window 100000 >"$srv_log" 2>&1 &
srv_pid=$!
trap 'kill "$srv_pid" 2>/dev/null || true; rm -rf "$srv_dir"' EXIT
srv_url=""
for _ in $(seq 1 100); do
  srv_url=$(sed -n 's/^  public URL: *//p' "$srv_log" | head -n1)
  [ -n "$srv_url" ] && break
  kill -0 "$srv_pid" 2>/dev/null || { cat "$srv_log" >&2; echo "server exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$srv_url" ] || { cat "$srv_log" >&2; echo "server did not start" >&2; exit 1; }
export COUNTERSIGN_TEST_SERVER="$srv_url"
export COUNTERSIGN_TEST_SERVER_DIR="$srv_dir/data"
# An admin API token, made as an operator would (shown once, stored hashed).
COUNTERSIGN_TEST_ADMIN_TOKEN=$(target/debug/countersign-server token create kotlin-tests \
  --data-dir "$srv_dir/data" 2>/dev/null)
export COUNTERSIGN_TEST_ADMIN_TOKEN
echo "    $srv_url (data: $COUNTERSIGN_TEST_SERVER_DIR)"
lap server

# --- Run ----------------------------------------------------------------------
step "run (JUnit 4 via TestMain)"
set +e
java -Djna.library.path="$libdir" -cp "$cp_run" "${KT_MAIN:-org.countersign.android.TestMain}" "$@"
status=$?
set -e
lap tests
awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN { printf "    total: %.1f s\n", b - a }'
exit "$status"
