#!/usr/bin/env bash
# Counts the instructions `ledgerd ingest` runs a file, with callgrind (valgrind), on N
# synthetic EHF 3 invoices from ../shared/bench/gen_ehf.py:
#
#   scripts/bench-instructions.sh [N]        (default N = 2000)
#
# Unlike files/second, the count does not drift with the machine's load: two builds can be
# compared to a per cent, where timed runs vary by a tenth or more from one to the next. It
# counts user space only (not the kernel's reading, moving and syncing), and under valgrind
# SHA-256 runs BoringSSL's AVX code rather than the SHA extensions most processors use, so
# hashing weighs more here than it does on the machine.
#
# Prints instructions a file (the run over N files less a run over none, which opens the
# books and closes them) and the functions that run most of them, by their own count.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-2000}"
bench_dir="${BENCH_HELPERS:-../shared/bench}"
[ -f "$bench_dir/gen_ehf.py" ] || { echo "bench helpers not found in $bench_dir (set BENCH_HELPERS)" >&2; exit 2; }
scripts/install-deps.sh --bench
bin="${LEDGERD_BIN:-$(scripts/build-release.sh)}"

work="$(mktemp -d "${TMPDIR:-/tmp}/ledgerd-instructions.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# valgrind 3.19 cannot read the DWARF 5 the toolchain writes; the symbols it needs stay.
strip --strip-debug -o "$work/ledgerd" "$bin"
python3 "$bench_dir/gen_ehf.py" "$work/gen" "$N" --seed 1 >&2

# Instructions for one `ledgerd ingest` of the files in $1 into fresh books.
count() {
  local home="$work/home" out="$work/callgrind.$2"
  rm -rf "$home"
  mkdir -p "$home/Inbox/ehf"
  printf '[company]\nname = "Nordlys Helse AS"\norg_number = "987654325"\n' >"$home/ledgerd.toml"
  (cd "$home" && "$work/ledgerd" ingest --config ledgerd.toml >/dev/null)
  [ -z "$1" ] || cp -r "$1/." "$home/Inbox/ehf/"
  (cd "$home" && valgrind --tool=callgrind --callgrind-out-file="$out" "$work/ledgerd" ingest --config ledgerd.toml \
    >/dev/null 2>"$work/valgrind.$2")
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/valgrind.$2"
}
none="$(count "" none)"
all="$(count "$work/gen" all)"
python3 -c "print(f'ledgerd ingest: {($all - $none) / $N:,.0f} instructions a file over $N files ({$none:,} to open and close the books)')"
echo "most instructions, by function (own count, all $N files):"
callgrind_annotate --inclusive=no "$work/callgrind.all" 2>/dev/null | grep -E '^ *[0-9,]+ +\(' | grep -v 'PROGRAM TOTALS' \
  | head -15 | sed "s|$work/||" | cut -c1-150
