#!/usr/bin/env bash
# The one test command (README: "Run every test"). Installs what it needs,
# idempotently, then runs the format and lint checks and every test:
#   Rust (nextest: core, CLI, bindings, server, cross-crate end to end),
#   the server suite again on PostgreSQL (tools/pg.sh; includes two_nodes),
#   the web pages in Chromium (tools/browser-test.sh),
#   binding generation + Kotlin JVM tests (tools/kotlin-test.sh),
#   Swift parsing and API cross-checks (tools/swift-check.sh).
# Works on a fresh machine with the Rust toolchain, Node/npm, a JDK and
# Python (what this machine kind ships); apt/npm/PyPI packages are installed
# by the sub-scripts when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# A one-off build: incremental compilation caches only cost disk and time.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

step() { printf '\n==> %s\n' "$*"; }
started=$(date +%s)

step "toolchain"
cargo --version
if ! cargo nextest --version >/dev/null 2>&1; then
  step "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

step "format"
cargo fmt --all -- --check

step "clippy (all targets, warnings are errors)"
# uniffi-bindgen is built alone by tools/bindgen.sh: in a workspace-wide build
# cargo would unify uniffi's `cli` feature into the bindings library.
cargo clippy --workspace --exclude uniffi-bindgen --all-targets --locked -- -D warnings

step "slim CLI (no demo, no server crate) still builds"
cargo check -p countersign-cli --no-default-features --locked

step "Python venv for the SMTP sink (tools/py-env.sh: aiosmtpd)"
COUNTERSIGN_TEST_PYTHON=$(./tools/py-env.sh | tail -n 1)
export COUNTERSIGN_TEST_PYTHON

step "Rust tests"
cargo nextest run --workspace --exclude uniffi-bindgen --locked --no-fail-fast

step "server tests again, on PostgreSQL (tools/pg.sh: private cluster, two-node tests)"
pg_url=$(./tools/pg.sh start | tail -n 1)
# Same package set as above (a filter, not -p), so nothing is rebuilt.
COUNTERSIGN_TEST_PG_URL=$pg_url cargo nextest run --workspace --exclude uniffi-bindgen --locked \
  --no-fail-fast -E 'package(countersign-server)'

step "browser: the web pages in Chromium (playwright-core; SMTP sink; CLI as the phone)"
./tools/browser-test.sh

step "Kotlin: generated bindings + Android shell on the JVM"
./tools/kotlin-test.sh

step "Swift: generated bindings + iOS shell, parsed and cross-checked"
./tools/swift-check.sh

printf '\nall test suites passed in %d s\n' "$(( $(date +%s) - started ))"
