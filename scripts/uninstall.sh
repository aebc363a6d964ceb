#!/usr/bin/env bash
# Removes the ledgerd service that scripts/install.sh installed, and nothing of the data:
#
#   sudo scripts/uninstall.sh
#
# Safe to run again. Run with --help for the options.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/uninstall.sh [--prefix DIR]

Stops and disables the ledgerd service, then removes what scripts/install.sh installed:
the unit /etc/systemd/system/ledgerd.service, DIR/bin/ledgerd and the web assets in
DIR/share/ledgerd. Run it as root or with sudo; running it again does no harm.

  --prefix DIR   where the binary and web assets were installed (default: the folder the
                 installed unit's ExecStart= names, else /usr/local)
  -h, --help     print this help and exit

Never touched: /var/lib/ledgerd (database, archive), /etc/ledgerd (configuration, API
token), the inbox and its files, the user and group ledgerd, and your drop-ins in
/etc/systemd/system/ledgerd.service.d. Installing again picks them all up.
EOF
}

unit=/etc/systemd/system/ledgerd.service
prefix=
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --prefix) [ $# -ge 2 ] || { echo "uninstall.sh: --prefix needs a folder" >&2; exit 2; }; prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#*=}"; shift ;;
    *) echo "uninstall.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "uninstall.sh: run this as root (sudo is not installed)" >&2; exit 1; }
  again=()
  [ -n "$prefix" ] && again+=(--prefix "$(realpath -m "$prefix")")
  exec sudo -- bash "$(realpath "$0")" "${again[@]}"
fi

if [ -z "$prefix" ]; then
  # ExecStart=/usr/local/bin/ledgerd run … -> /usr/local
  exec_start="$( (grep -m1 '^ExecStart=' "$unit" 2>/dev/null || true) | sed -n 's#^ExecStart=\(/[^ ]*\)/bin/ledgerd .*#\1#p')"
  prefix="${exec_start:-/usr/local}"
fi
prefix="$(realpath -m "$prefix")"
# The inbox the installed unit names, for the closing message.
inbox="$( (grep -m1 '^ReadWritePaths=' "$unit" 2>/dev/null || true) | sed 's#^ReadWritePaths=##')"
inbox="${inbox:-/srv/ledgerd/Inbox}"

say() { printf '==> %s\n' "$*"; }

if [ -d /run/systemd/system ]; then
  if systemctl cat ledgerd.service >/dev/null 2>&1; then
    say "Stopping and disabling ledgerd"
    systemctl disable --now ledgerd.service || true
  fi
else
  say "systemd is not running here (no /run/systemd/system): nothing to stop"
fi

for f in "$unit" "$prefix/bin/ledgerd"; do
  if [ -e "$f" ] || [ -L "$f" ]; then
    rm -f "$f"
    say "Removed $f"
  fi
done
if [ -d "$prefix/share/ledgerd" ]; then
  rm -rf "$prefix/share/ledgerd/Web" "$prefix/share/ledgerd/Web.new"
  rmdir "$prefix/share/ledgerd" 2>/dev/null || true
  say "Removed the web assets in $prefix/share/ledgerd"
fi

if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl reset-failed ledgerd.service 2>/dev/null || true
fi

cat <<EOF

ledgerd is uninstalled. Kept, untouched:
  /var/lib/ledgerd    the database (ledger.sqlite) and the archive
  /etc/ledgerd        the configuration and the API token
  $inbox  the inbox, with every file in it
  user/group ledgerd  (owns the above; to remove: sudo userdel ledgerd; sudo groupdel ledgerd)
Delete those yourself only once you have a backup you trust.
EOF
