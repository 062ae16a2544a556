#!/usr/bin/env bash
# The multi-host fault harness (deploy/harness): silo hosts in Linux network namespaces, one PostgreSQL, one
# client, seeded faults. Needs root and a Release build; `deploy/faults.sh --help` lists the options.
#   deploy/faults.sh --seed 1              the full run: every scenario, 8 candidates, 2 faults each
#   deploy/faults.sh --reduced --seed 1    the CI form: kill and partition, 4 candidates, 1 fault each
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
harness="$root/deploy/harness/bin/Release/net10.0/layerchop-faults.dll"
[ -f "$harness" ] || { echo "faults.sh: $harness is missing; build first: dotnet build LayerChop.sln -c Release" >&2; exit 2; }
exec dotnet "$harness" "$@"
