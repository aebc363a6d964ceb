#!/usr/bin/env bash
# Sets up ledgerd on a fresh machine and runs the daemon on its built-in defaults in this
# folder: ./Inbox (ehf/, wise/, checks/), ./var/ledger.sqlite, ./var/archive,
# ./Inbox/rejected, and the status page on http://127.0.0.1:8080/. Ctrl-C stops it.
# Arguments are passed on to `ledgerd run` (e.g. --config ledgerd.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
bin="$(scripts/build-release.sh)"
mkdir -p Inbox/ehf Inbox/wise Inbox/checks var
exec "$bin" run "$@"
