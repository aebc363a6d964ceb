#!/usr/bin/env bash
# Installs the Debian packages ledgerd builds and tests against. Idempotent: does nothing
# when everything is already there. Runs apt-get as root, or through sudo.
#
#   scripts/install-deps.sh            build and test dependencies
#   scripts/install-deps.sh --bench    those, and the benchmarks' tools (wrk, valgrind)
#   scripts/install-deps.sh --runtime  only the libraries a built ledgerd loads (a server
#                                      given a binary: scripts/install.sh --binary)
set -euo pipefail

packages=(
  pkg-config
  libsqlite3-dev        # the ledger database (through GRDB)
  libxml2-dev           # EHF / UBL parsing
  libinotifytools0-dev  # watching the inbox folders
  libcurl4-openssl-dev  # Invoice Tracker pulls
  python3               # benchmark helpers
  systemd               # systemd-analyze verifies the service unit in the tests
  chromium              # the status page is tested in a real headless browser
  fonts-dejavu-core     # …with a font to render it
  tzdata                # local times, and the local day invoices are aged against
)
if [ "${1:-}" = "--bench" ]; then
  packages+=(
    wrk                 # scripts/bench.sh: the status page under load
    valgrind            # scripts/bench-instructions.sh: instructions a file
  )
elif [ "${1:-}" = "--runtime" ]; then
  # What `ldd ledgerd` names beyond libc and libstdc++ (Swift's runtime is inside the binary),
  # and the time zones that say which day it is here.
  packages=(libsqlite3-0 libxml2 libinotifytools0 tzdata)
elif [ $# -gt 0 ]; then
  echo "install-deps.sh: unknown argument '$1' (--bench, --runtime, or nothing)" >&2
  exit 2
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
echo "Installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
