#!/usr/bin/env bash
# Installs ledgerd as a systemd service, in one command, from this source tree:
#
#   sudo scripts/install.sh
#
# Safe to run again (to upgrade, too): it never overwrites /etc/ledgerd/ledgerd.toml or
# /etc/ledgerd/api-token and never touches the database, the archive or the files in the
# inbox. Run with --help for the options; systemd/SERVICE.md says more.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/install.sh [--prefix DIR] [--inbox PATH] [--no-start] [--binary FILE]

Installs ledgerd as a systemd service. Run it as root or with sudo; run it again to upgrade.

  1. Debian build dependencies (scripts/install-deps.sh), then a release build
     (scripts/build-release.sh), as the owner of this source tree. The binary carries
     the Swift runtime and Foundation inside it, so the service does not load them from
     the toolchain. With --binary, only the libraries it loads (install-deps.sh --runtime).
  2. The system user and group "ledgerd" (home /var/lib/ledgerd, no login), if missing.
  3. DIR/bin/ledgerd, the web assets in DIR/share/ledgerd/Web, and the unit
     /etc/systemd/system/ledgerd.service (from systemd/ledgerd.service).
  4. /etc/ledgerd/ledgerd.toml (from systemd/ledgerd.toml) and an API token in
     /etc/ledgerd/api-token (0600 root, random), each only if it is not there yet.
  5. The inbox PATH/{ehf,wise,checks,rejected}, owned ledgerd:ledgerd, mode 2770.
  6. systemctl daemon-reload and systemctl enable --now ledgerd (restarting it when it
     was running and something changed), when systemd runs this machine.

Options:
  --prefix DIR    install the binary and web assets under DIR (default: /usr/local)
  --inbox PATH    the shared inbox folder (default: /srv/ledgerd/Inbox)
  --no-start      install everything but do not enable or start the service
  --binary FILE   install this ledgerd binary instead of building one
  -h, --help      print this help and exit

Never overwritten or removed: /etc/ledgerd (configuration, token), /var/lib/ledgerd
(database, archive) and the inbox's files. Logs: journalctl -u ledgerd -f
EOF
}

prefix=/usr/local
inbox=/srv/ledgerd/Inbox
start=1
binary=
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a folder" >&2; exit 2; }; prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#*=}"; shift ;;
    --inbox) [ $# -ge 2 ] || { echo "install.sh: --inbox needs a folder" >&2; exit 2; }; inbox="$2"; shift 2 ;;
    --inbox=*) inbox="${1#*=}"; shift ;;
    --binary) [ $# -ge 2 ] || { echo "install.sh: --binary needs a file" >&2; exit 2; }; binary="$2"; shift 2 ;;
    --binary=*) binary="${1#*=}"; shift ;;
    --no-start) start=0; shift ;;
    *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

# Paths go into the unit file unquoted and are hidden by the sandbox in some places.
check_path() {  # name value
  case "$2" in
    /*) ;;
    *) echo "install.sh: $1 must be an absolute path, not '$2'" >&2; exit 2 ;;
  esac
  local unsafe='[[:space:]"'"'"'\\%$;#&]'
  if [[ "$2" =~ $unsafe ]]; then
    echo "install.sh: $1 '$2' contains a space or one of \" ' \\ % \$ ; # & — choose a plain path" >&2; exit 2
  fi
  case "$2/" in
    /home/*|/root/*|/run/user/*)
      echo "install.sh: $1 '$2' is in a home folder, which the service cannot see (ProtectHome=yes)" >&2; exit 2 ;;
    /tmp/*|/var/tmp/*)
      echo "install.sh: $1 '$2' is in a temporary folder, which the service does not share (PrivateTmp=yes)" >&2; exit 2 ;;
  esac
}
check_path --prefix "$prefix"
check_path --inbox "$inbox"
prefix="$(realpath -m "$prefix")"
inbox="$(realpath -m "$inbox")"
check_path --prefix "$prefix"   # again, now without .. and symlinks
check_path --inbox "$inbox"
if [ -n "$binary" ]; then binary="$(realpath -m "$binary")"; fi
case "$inbox/" in
  //|/var/lib/ledgerd/*|/usr/*|/etc/*|/boot/*|/proc/*|/sys/*|/dev/*)
    echo "install.sh: --inbox '$inbox' is not a place for a shared folder; try /srv/ledgerd/Inbox" >&2; exit 2 ;;
esac

# Root is needed from here on. sudo resets PATH (secure_path), which usually loses the
# Swift toolchain, so PATH is handed over explicitly.
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install.sh: run this as root (sudo is not installed)" >&2; exit 1; }
  again=(--prefix "$prefix" --inbox "$inbox")
  if [ -n "$binary" ]; then again+=(--binary "$binary"); fi
  if [ "$start" = 0 ]; then again+=(--no-start); fi
  exec sudo -- env PATH="$PATH" bash "$(realpath "$0")" "${again[@]}"
fi

cd "$(dirname "$0")/.."
source_tree="$PWD"

config_dir=/etc/ledgerd
config="$config_dir/ledgerd.toml"
token_file="$config_dir/api-token"
state_dir=/var/lib/ledgerd
unit=/etc/systemd/system/ledgerd.service
bin_path="$prefix/bin/ledgerd"
web_dir="$prefix/share/ledgerd/Web"   # where the status server looks beside <prefix>/bin
changed=0                             # binary, web assets or unit differ from what was installed

say() { printf '==> %s\n' "$*"; }

# Commands run as the owner of the source tree, so that `sudo scripts/install.sh` does not
# leave a root-owned .build behind.
owner="$(stat -c %U "$source_tree")"
as_owner() {
  if [ "$owner" != root ] && [ "$owner" != UNKNOWN ]; then
    runuser -u "$owner" -- env PATH="$PATH" "$@"
  else
    "$@"
  fi
}

# 1. Dependencies and the binary. Given a binary, only the libraries it loads: no compilers,
# headers or test browser on a server.
if [ -n "$binary" ]; then
  say "Debian packages ledgerd loads (scripts/install-deps.sh --runtime)"
  scripts/install-deps.sh --runtime
else
  say "Debian packages (scripts/install-deps.sh)"
  scripts/install-deps.sh
fi
if [ -z "$binary" ]; then
  say "Building the release binary (scripts/build-release.sh)"
  binary="$(as_owner scripts/build-release.sh)"
fi
[ -x "$binary" ] || { echo "install.sh: no ledgerd binary at $binary" >&2; exit 1; }

# 2. The service's user and group. The group is also for the people who drop files.
if ! getent group ledgerd >/dev/null; then
  say "Creating the system group ledgerd"
  groupadd --system ledgerd
fi
if ! getent passwd ledgerd >/dev/null; then
  say "Creating the system user ledgerd"
  useradd --system --gid ledgerd --home-dir "$state_dir" --no-create-home \
    --shell /usr/sbin/nologin --comment "ledgerd daemon" ledgerd
fi

# install_file MODE SOURCE DEST: installs root-owned, noting whether anything changed.
install_file() {
  if ! cmp -s "$2" "$3"; then
    changed=1
    install -D -m "$1" -o root -g root "$2" "$3"
    say "Installed $3"
  else
    chown root:root "$3"
    chmod "$1" "$3"
  fi
}

# 3. Binary, web assets, unit.
install_file 0755 "$binary" "$bin_path"

if ! diff -rq Web "$web_dir" >/dev/null 2>&1; then
  changed=1
  rm -rf "$web_dir.new"
  install -d -m 0755 "$(dirname "$web_dir")"
  cp -R Web "$web_dir.new"
  chown -R root:root "$web_dir.new"
  chmod -R u=rwX,go=rX "$web_dir.new"
  rm -rf "$web_dir"
  mv "$web_dir.new" "$web_dir"
  say "Installed the web assets in $web_dir"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sed -e "/^#/!s#/usr/local/bin/ledgerd#$bin_path#g" -e "/^#/!s#/srv/ledgerd/Inbox#$inbox#g" \
  systemd/ledgerd.service >"$work/ledgerd.service"
install_file 0644 "$work/ledgerd.service" "$unit"

# 4. Configuration and token: written once, never overwritten.
install -d -m 0755 -o root -g root "$config_dir"
if [ ! -e "$config" ]; then
  sed -e "/^#/!s#/srv/ledgerd/Inbox#$inbox#g" systemd/ledgerd.toml >"$work/ledgerd.toml"
  # Readable by the service (group ledgerd); it holds no secret, the token is separate.
  install -m 0640 -o root -g ledgerd "$work/ledgerd.toml" "$config"
  say "Installed $config (edit [company] before relying on it)"
  fresh_config=1
else
  say "Kept your $config"
  fresh_config=0
  if ! grep -q "\"$inbox\"" "$config"; then
    echo "    note: $config does not name the inbox $inbox; the unit allows writing only there" >&2
  fi
  if ! runuser -u ledgerd -- test -r "$config"; then
    echo "    warning: the ledgerd user cannot read $config (try: chgrp ledgerd $config; chmod 0640 $config)" >&2
  fi
fi
if [ ! -e "$token_file" ]; then
  # 32 random bytes as 64 hex digits, no newline. Created 0600 from the start.
  (umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$token_file.new")
  mv "$token_file.new" "$token_file"
  say "Generated the API token in $token_file"
fi
chown root:root "$token_file"
chmod 0600 "$token_file"

# 5. The inbox: setgid folders, so everything dropped in belongs to group ledgerd. Folders
# already there keep their owner, group and mode (an upgrade must not undo a Samba group or
# wider access given since); they are only checked.
made=0
for d in "$inbox" "$inbox/ehf" "$inbox/wise" "$inbox/checks" "$inbox/rejected"; do
  if [ -d "$d" ]; then
    if ! runuser -u ledgerd -- test -w "$d" -a -x "$d"; then
      echo "    warning: the ledgerd user cannot write $d; files there will not be taken (try: chgrp ledgerd $d; chmod 2770 $d)" >&2
    fi
  else
    install -d -m 2770 -o ledgerd -g ledgerd "$d"
    made=1
  fi
done
if [ "$made" = 1 ]; then
  say "Inbox ready: $inbox/{ehf,wise,checks,rejected} (new folders ledgerd:ledgerd, 2770)"
else
  say "Kept the inbox folders in $inbox as they were"
fi

# The configuration must be valid before the service is (re)started on it.
if ! "$bin_path" config check --config "$config"; then
  echo "install.sh: $config is not valid (see above); fix it and run this again" >&2
  exit 1
fi

# 6. systemd.
service_note=
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  if [ "$start" = 1 ]; then
    was_active=0
    systemctl is-active --quiet ledgerd && was_active=1
    if ! systemctl enable --now ledgerd ||
       { [ "$was_active" = 1 ] && [ "$changed" = 1 ] && ! systemctl restart ledgerd; }; then
      echo "install.sh: ledgerd did not start; see: journalctl -u ledgerd -n 50 --no-pager" >&2
      exit 1
    fi
    [ "$was_active" = 1 ] && [ "$changed" = 1 ] && say "Restarted ledgerd on the new version"
    service_note="enabled and running: systemctl status ledgerd"
  else
    service_note="installed, not started (--no-start): sudo systemctl enable --now ledgerd"
  fi
else
  say "systemd is not running here (no /run/systemd/system): skipped"
  echo "      systemctl daemon-reload"
  [ "$start" = 1 ] && echo "      systemctl enable --now ledgerd"
  service_note="not started (no systemd): sudo systemctl daemon-reload && sudo systemctl enable --now ledgerd"
fi

# Where the page is, as the configuration says (it may have been changed since a first install).
listen="$("$bin_path" config check --config "$config" --json 2>/dev/null | sed -n 's/^ *"listen" : "\([^"]*\)".*/\1/p')"

cat <<EOF

ledgerd is installed.
  service        $service_note
  logs           journalctl -u ledgerd -f
  binary         $bin_path
  unit           $unit   (local changes: systemctl edit ledgerd)
  configuration  $config$([ "$fresh_config" = 1 ] && echo "   <- set [company], then: sudo systemctl restart ledgerd")
  API token      $token_file (0600 root; the service gets it as a credential)
  database       $state_dir/ledger.sqlite, archive $state_dir/archive
  inbox          $inbox/{ehf,wise,checks}, rejected files in $inbox/rejected
  status page    http://${listen:-127.0.0.1:8080}/
Let people drop files:  sudo usermod -aG ledgerd <name>   (takes effect at their next login)
EOF
