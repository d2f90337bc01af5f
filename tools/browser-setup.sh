#!/usr/bin/env bash
# Installs what the browser tests (tests/browser) need, idempotently:
# Debian's Chromium at /usr/bin/chromium (playwright-core cannot download a
# browser build here, so the tests drive this one), and tests/browser's npm
# packages from its committed package-lock.json (`npm ci`, only when
# node_modules is missing or the lock changed since the last install: a stamp
# in node_modules records the lock's hash). A second run does nothing.
#
# Usage: tools/browser-setup.sh      then: node tests/browser/smoke.mjs
set -euo pipefail
cd "$(dirname "$0")/../tests/browser"

if [ ! -x /usr/bin/chromium ]; then
  echo "browser-setup: installing Debian package chromium" >&2
  [ "$(id -u)" = 0 ] || { echo "browser-setup: need root to apt-get install chromium" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends chromium; then
    apt-get update
    apt-get install -y --no-install-recommends chromium
  fi
fi

stamp=node_modules/.countersign-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d node_modules/playwright-core ]; then
  echo "browser-setup: node_modules matches package-lock.json" >&2
else
  echo "browser-setup: npm ci" >&2
  # No browser download: playwright-core has none, and none is reachable.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi
echo "browser-setup: chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'), playwright-core $(node -p 'require("./node_modules/playwright-core/package.json").version')"
