#!/usr/bin/env bash
# The whole test suite, unit and integration, against a real engine and registry. Sets up the
# test bed and installs dependencies first when they are missing, so it works on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/testbed.sh up
[ -x node_modules/.bin/vitest ] || npm ci --no-fund --no-audit
npx vitest run "$@"
