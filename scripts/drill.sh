#!/usr/bin/env bash
# The main job, end to end on this machine: set up the test bed (engine, registry, local images),
# then run a disaster-recovery drill on the bundled demo stack (PostgreSQL and a web server):
# snapshot it, verify the snapshot, destroy the stack, restore it, and compare its answers.
# Extra arguments go to `docker-snapshot drill` (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/testbed.sh up
exec node dist/cli.js drill --demo \
  --registry "${DOCKER_SNAPSHOT_TEST_REGISTRY:-127.0.0.1:5000}" \
  --store .testbed/snapshots "$@"
