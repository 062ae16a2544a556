#!/usr/bin/env bash
# What the browser test of the live sweep page (tests/Client.Tests/WebPageTests.cs) needs, idempotently:
#   - Debian's chromium at /usr/bin/chromium (installed with apt-get when missing; needs root)
#   - npm playwright-core, at the exact version in package-lock.json, into tests/web/node_modules/
#     (git-ignored; `npm ci --ignore-scripts`, so it downloads no browser of its own)
# Each step skips what is already in place.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
say() { echo "web/setup.sh: $*" >&2; }

if [[ ! -x /usr/bin/chromium ]]; then
  if [[ "$(id -u)" != 0 ]]; then
    say "error: chromium is not installed; as root run: apt-get update && apt-get install -y chromium"
    exit 1
  fi
  say "installing chromium from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq chromium >&2
fi

wanted="$(node -p "require('$here/package-lock.json').packages['node_modules/playwright-core'].version")"
installed="$(node -p "require('$here/node_modules/playwright-core/package.json').version" 2>/dev/null || true)"
if [[ "$installed" != "$wanted" ]]; then
  say "installing playwright-core $wanted"
  (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund >&2)
fi
