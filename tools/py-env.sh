#!/usr/bin/env bash
# The Python venv for test helpers (tools/smtp-sink.py needs PyPI aiosmtpd):
# target/py-venv, created when missing, aiosmtpd installed only when it cannot
# be imported. Separate from target/swift-venv (tools/swift-check.sh's
# tree-sitter venv) so neither script rebuilds the other's.
# Last stdout line: the venv's python path.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$PWD/target/py-venv
if [ ! -x "$venv/bin/python" ]; then
  echo "py-env: creating $venv" >&2
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
  echo "py-env: pip install aiosmtpd" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check aiosmtpd >&2
fi
echo "$venv/bin/python"
