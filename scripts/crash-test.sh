#!/usr/bin/env bash
# More crash trials than the suite runs: kill -9 `ledgerd run` at random moments while it
# works through a backlog, restart, and check every file was posted exactly once.
#
#   scripts/crash-test.sh [TRIALS] [FILES]      (default 50 trials, 2000 files)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
LEDGERD_CRASH_TRIALS="${1:-50}" LEDGERD_CRASH_FILES="${2:-2000}" \
  swift test --skip-build --disable-xctest --filter 'killedAtRandomMomentsEveryFileIsPostedExactlyOnce'
