#!/usr/bin/env bash
# Sets up ledgerd on a fresh machine and runs the daemon on its built-in defaults in this
# folder: ./Inbox (ehf/, wise/, checks/), ./var/ledger.sqlite, ./var/archive,
# ./Inbox/rejected, and the status page on http://127.0.0.1:8080/. Ctrl-C stops it.
# Arguments are passed on to `ledgerd run` (e.g. --config ledgerd.toml). Without --config,
# a ledgerd.toml in this folder (written as the README says) is used, so running this again
# after a reboot keeps the company it was configured for.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
bin="$(scripts/build-release.sh)"
mkdir -p Inbox/ehf Inbox/wise Inbox/checks var
args=("$@")
if [ -f ledgerd.toml ] && [[ " $* " != *" --config "* && " $* " != *" --config="* ]]; then
  echo "run.sh: using ./ledgerd.toml (pass --config FILE for another)" >&2
  args=(--config ledgerd.toml "$@")
fi
exec "$bin" run "${args[@]}"
