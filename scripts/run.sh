#!/usr/bin/env bash
# Sets up ledgerd on a fresh machine and runs it on its built-in defaults in this folder:
# ./Inbox (ehf/, wise/, checks/), ./var/ledger.sqlite, ./var/archive, ./Inbox/rejected.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product ledgerd
bin="$(swift build -c release --show-bin-path)/ledgerd"
mkdir -p Inbox/ehf Inbox/wise Inbox/checks var
"$bin" ingest "$@"
"$bin" status
