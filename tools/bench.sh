#!/usr/bin/env bash
# Runs every benchmark behind docs/benchmarks.md (release builds; not part of
# the test command). Run on an otherwise idle machine; results go to stdout
# and to target/bench/*.txt.
#
# Usage: tools/bench.sh [core|ffi|approve|kotlin|size|signin|sync]...   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p target/bench
what=("$@")
[ ${#what[@]} -eq 0 ] && what=(core ffi approve kotlin size signin sync)

for w in "${what[@]}"; do
  case "$w" in
    core)
      # OTP engine, vault operations and URI parsing (criterion). BENCH_DIR
      # puts the benchmark vaults on the real disk (fsync included).
      BENCH_DIR=/tmp cargo bench --locked -p countersign-core --bench core 2>&1 | tee target/bench/core.txt ;;
    ffi)
      # Rust side of the FFI comparison: the same calls the Kotlin bench makes.
      cargo bench --locked -p countersign-ffi --bench ffi 2>&1 | tee target/bench/ffi-rust.txt ;;
    approve)
      # Approve round trip on loopback: sequential latency and 32 concurrent devices.
      cargo run --locked --release -p countersign-tests --bin approve_bench -- 32 20 2>&1 | tee target/bench/approve.txt ;;
    kotlin)
      # Kotlin side of the FFI comparison, against the release library.
      ./tools/kotlin-bench.sh 2>&1 | tee target/bench/ffi-kotlin.txt ;;
    size)
      # Stripped release library size (x86_64) and its largest contributors.
      # Built the way android/build-rust.sh ships it: the `mobile` profile
      # (release, opt-level z), the cdylib alone (one output type, so fat
      # LTO can drop what an rlib/staticlib would keep).
      cargo rustc --locked --profile mobile -p countersign-ffi --lib --crate-type cdylib
      ls -l target/mobile/libcountersign_ffi.so | tee target/bench/size.txt
      # For comparison: the `release` profile (opt-level s), same crate type.
      cargo rustc --locked --release -p countersign-ffi --lib --crate-type cdylib
      ls -l target/release/libcountersign_ffi.so | sed 's/$/   (release profile, opt-level s)/' | tee -a target/bench/size.txt
      # cargo-bloat refuses multi-crate-type packages; same idea from nm.
      cargo rustc --locked --profile mobile-debug -p countersign-ffi --lib --crate-type cdylib
      python3 tools/size-by-crate.py target/mobile-debug/libcountersign_ffi.so 16 | tee -a target/bench/size.txt ;;
    signin)
      # Web sign-ins (password + approve, password + OTP) with 32 concurrent
      # browsers: SQLite, PostgreSQL, and two server processes on PostgreSQL.
      cargo build --locked --release -p countersign-tests --bin signin_bench
      cargo build --locked --release -p countersign-server --bin countersign-server
      pg_url=$(tools/pg.sh start | tail -n 1)
      {
        target/release/signin_bench --clients 32 --signins 8
        target/release/signin_bench --pg "$pg_url" --clients 32 --signins 8
        target/release/signin_bench --pg "$pg_url" --nodes 2 --clients 32 --signins 8
      } 2>&1 | tee target/bench/signin.txt ;;
    sync)
      # End-to-end encrypted sync of 500 profiles between two devices.
      cargo run --locked --release -p countersign-tests --bin sync_bench -- 500 5 2>&1 | tee target/bench/sync.txt ;;
    *) echo "unknown benchmark $w" >&2; exit 2 ;;
  esac
done
