#!/usr/bin/env bash
# Browser tests of the sign-in server's web pages (tests/browser/*.test.mjs):
# Debian's Chromium driven by playwright-core under node's test runner,
# against a real countersign-server on loopback with an SMTP sink, the
# `countersign` CLI playing the phone. Idempotent: installs Chromium, the npm
# packages and the Python venv when missing; the binaries come from the
# workspace debug build (tools/build-debug.sh; tools/test.sh runs this after
# cargo's tests, so nothing is rebuilt).
#
# Prints `browser: N passed, N failed` last; exits non-zero on a failure.
# Screenshots: target/browser-screens/<test>/NN-name.png.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

./tools/browser-setup.sh
COUNTERSIGN_PY=$(./tools/py-env.sh | tail -n1)
export COUNTERSIGN_PY

# The workspace debug build (a no-op after cargo nextest in tools/test.sh).
./tools/build-debug.sh >/dev/null

mkdir -p target/browser-screens
log=target/browser-test.tap
set +e
# One file at a time: Chromium and the server share 2 cores.
node --test --test-concurrency=1 --test-reporter=tap tests/browser/ 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

count() { awk -v k="# $1" '$1" "$2 == k { n = $3 } END { print n + 0 }' "$log"; }
pass=$(count pass)
fail=$(( $(count fail) + $(count cancelled) ))
todo=$(count todo)
if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then
  fail=1 # the runner itself failed (e.g. a file that did not load)
fi
echo "browser: screenshots in $PWD/target/browser-screens"
echo "browser: $todo todo, $(( $(date +%s) - started )) s"
echo "browser: $pass passed, $fail failed"
[ "$status" -eq 0 ] && [ "$fail" -eq 0 ]
