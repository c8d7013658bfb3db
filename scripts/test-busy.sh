#!/usr/bin/env bash
# The suite on a machine with every core busy, in random order, twice (two different orders):
# tests must wait on conditions, never on the machine's speed, and none may depend on another's
# leftovers. stress-ng (Debian) keeps one CPU hog per core running for the whole time.
# Usage: scripts/test-busy.sh [RUNS]   (default 2); extra pytest options in PYTEST_ADDOPTS.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-2}
if ! command -v stress-ng >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends stress-ng >/dev/null
  else
    echo "install stress-ng (Debian: apt-get install stress-ng), then run this again" >&2
    exit 1
  fi
fi
make setup test-deps
stress-ng --cpu 0 --cpu-method matrixprod --quiet &
hog=$!
trap 'kill "$hog" 2>/dev/null || true; wait "$hog" 2>/dev/null || true' EXIT
for i in $(seq 1 "$runs"); do
  seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
  echo "== run $i of $runs: every core busy (stress-ng, $(nproc) hogs), random order, seed $seed"
  make test PYTEST_ARGS="-p no:cacheprovider --randomly-seed=$seed"
done
