#!/usr/bin/env bash
# Checks the iOS shell's Swift on a machine without a Swift compiler.
#
# 1. A Python venv with the tree-sitter Swift grammar (target/swift-venv;
#    reused when it already has the pinned versions).
# 2. tools/bindgen.sh regenerates the Swift bindings from the Rust library.
# 3. ios/tools/swiftcheck parses every Swift file (generated code with two
#    documented allowances, hand-written code strictly), cross-checks the
#    hand-written code against the generated API, proves itself on the
#    fixtures in ios/checker-fixtures, and runs `bash -n` on the Mac build
#    script. What is and is not checked: ios/README.md.
#
# Last line: `swift-check: N passed, N failed`; exit status non-zero on any
# failure. Building and running the Swift code needs a Mac (ios/README.md).
#
# Usage: tools/swift-check.sh [--no-bindgen]
#   --no-bindgen   check against the bindings already in target/bindings/swift
set -euo pipefail
cd "$(dirname "$0")/.."

TREE_SITTER=0.26.1
TREE_SITTER_SWIFT=0.7.4
venv=target/swift-venv
generated=target/bindings/swift/Countersign.swift

bindgen=1
for arg in "$@"; do
  case "$arg" in
    --no-bindgen) bindgen=0 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

fail_setup() {
  echo "swift-check: setup failed: $*" >&2
  echo "swift-check: 0 passed, 1 failed"
  exit 1
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

t0=$(now)
have_versions() {
  "$venv/bin/python" - "$TREE_SITTER" "$TREE_SITTER_SWIFT" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if (version("tree-sitter"), version("tree-sitter-swift")) == tuple(sys.argv[1:3]) else 1)
PY
}
if [ -x "$venv/bin/python" ] && have_versions; then
  echo "==> venv: $venv has tree-sitter $TREE_SITTER, tree-sitter-swift $TREE_SITTER_SWIFT"
else
  echo "==> venv: creating $venv"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv" || fail_setup "python3 -m venv failed"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: \
    "tree-sitter==$TREE_SITTER" "tree-sitter-swift==$TREE_SITTER_SWIFT" \
    || fail_setup "pip could not install the tree-sitter wheels"
  have_versions || fail_setup "the venv does not have the pinned versions"
fi
echo "    ($(elapsed "$t0") s)"

if [ "$bindgen" = 1 ]; then
  t1=$(now)
  echo "==> bindings: tools/bindgen.sh"
  log=target/swift-check-bindgen.log
  if ! tools/bindgen.sh >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    fail_setup "tools/bindgen.sh failed (full log: $log)"
  fi
  echo "    ($(elapsed "$t1") s)"
fi
[ -f "$generated" ] || fail_setup "$generated is missing (run without --no-bindgen)"

echo "==> swiftcheck"
PYTHONPATH=ios/tools exec "$venv/bin/python" -m swiftcheck --ios ios --generated "$generated"
