#!/usr/bin/env bash
# Benchmarks, all on synthetic EHF 3 invoices from ../shared/bench/gen_ehf.py:
#  1. `ledgerd ingest` against the Python stdlib reference (../shared/bench/baseline_ehf.py)
#     on the same N files, in the same run, both with durable commits: files/second for
#     each, the ratio, and ledgerd's peak resident memory;
#  2. `ledgerd run`: drop->posted latency for single files on an idle daemon, files/second
#     for a burst of DAEMON_BURST files (default N) with resident memory sampled as it goes,
#     and wrk's requests/second and p99 for /api/status while another burst is ingested.
#
#   scripts/bench.sh [N]        (default N = 10000)
#
# BENCH_PREFILL=P first posts P other invoices into both databases (untimed), so the N are
# measured against books that already hold P documents, as a running ledger's are.
# BENCH_DAEMON=0 stops after the first part.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-10000}"
bench_dir="${BENCH_HELPERS:-../shared/bench}"
[ -f "$bench_dir/gen_ehf.py" ] || { echo "bench helpers not found in $bench_dir (set BENCH_HELPERS)" >&2; exit 2; }
scripts/install-deps.sh --bench
if [ -z "${LEDGERD_BIN:-}" ]; then
  bin="$(scripts/build-release.sh)"
else
  bin="$LEDGERD_BIN"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/ledgerd-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
python3 "$bench_dir/gen_ehf.py" "$work/gen" "$N" --seed 1 >&2
mkdir -p "$work/ledgerd/Inbox/ehf" "$work/baseline" "$work/baseline-nosync"
cp -r "$work/gen" "$work/baseline/in"
cp -r "$work/gen" "$work/baseline-nosync/in"
cat > "$work/ledgerd/ledgerd.toml" <<TOML
[company]
name = "Nordlys Helse AS"
org_number = "987654325"
TOML
prefill="${BENCH_PREFILL:-0}"
if [ "$prefill" -gt 0 ]; then
  # Other invoices (another seed, numbers after the measured ones), posted untimed by each.
  python3 "$bench_dir/gen_ehf.py" "$work/prefill" "$prefill" --seed 2 --start "$N" >&2
  cp -r "$work/prefill" "$work/baseline/prefill"
  python3 "$bench_dir/baseline_ehf.py" "$work/baseline/db.sqlite" "$work/baseline/archive" "$work/baseline/prefill" \
    --sync=full >&2
  cp "$work/baseline/db.sqlite"* "$work/baseline-nosync/"
  find "$work/prefill" -type f -exec mv -t "$work/ledgerd/Inbox/ehf/" {} +
  (cd "$work/ledgerd" && "$bin" ingest --config ledgerd.toml >/dev/null)
fi
cp -r "$work/gen/." "$work/ledgerd/Inbox/ehf/"
sync

# Python reference: one durable transaction per file.
base_out="$(python3 "$bench_dir/baseline_ehf.py" "$work/baseline/db.sqlite" "$work/baseline/archive" "$work/baseline/in" --sync=full)"
base_fps="$(sed -n 's/.*files_per_s=\([0-9.]*\).*/\1/p' <<<"$base_out")"
# The same without waiting for the disk at each commit (synchronous=NORMAL): not a fair
# comparison (a power cut may lose what it posted), printed only to show what one durable
# commit costs on this machine, which is what moves the ratio most from one machine to another.
nosync_out="$(python3 "$bench_dir/baseline_ehf.py" "$work/baseline-nosync/db.sqlite" "$work/baseline-nosync/archive" \
  "$work/baseline-nosync/in" --sync=normal)"

# ledgerd: the same files, durable group commits. It starts, as the reference did, with
# nothing of the other's left for the kernel to write back.
sync
cd "$work/ledgerd"
start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$work/rss" "$bin" ingest --config ledgerd.toml >"$work/ledgerd.out"
end=$(date +%s.%N)
cd - >/dev/null
summary="$(tail -1 "$work/ledgerd.out")"
posted="$(sed -n 's/.*: \([0-9]*\) posted.*/\1/p' <<<"$summary")"
secs="$(python3 -c "print(f'{$end-$start:.3f}')")"
fps="$(python3 -c "print(f'{$N/($end-$start):.1f}')")"
# ledgerd's own timing ("in 0.952 s"): first file taken to last settled. The reference times
# itself the same way, after starting, opening its database and listing its files, and
# before closing it.
span="$(sed -n 's/.*, in \([0-9.]*\) s.*/\1/p' <<<"$summary")"
span_fps="$(python3 -c "print(f'{$N/$span:.1f}')")"
rss_kb="$(cat "$work/rss")"
left="$(find "$work/ledgerd/Inbox/ehf" -type f | wc -l)"
# Posting runs without SQLite's foreign-key enforcement (LedgerStore.postingTransaction):
# the books it wrote are checked for a reference to nothing.
broken="$(python3 -c 'import sqlite3, sys; print(len(sqlite3.connect(sys.argv[1]).execute("PRAGMA foreign_key_check").fetchall()))' \
  "$work/ledgerd/var/ledger.sqlite")"
[ "$broken" = 0 ] || { echo "ledgerd's books hold $broken reference(s) to nothing" >&2; exit 1; }

echo "files:              $N synthetic EHF 3 invoices (gen_ehf.py --seed 1)$([ "$prefill" -gt 0 ] && echo ", into books already holding $prefill")"
echo "baseline_ehf.py:    $base_out"
python3 - "$base_out" "$nosync_out" "$N" <<'PY'
import re, sys
def secs(line): return float(re.search(r"seconds=([0-9.]+)", line).group(1))
full, normal, n = secs(sys.argv[1]), secs(sys.argv[2]), int(sys.argv[3])
print(f"  without fsync:    {sys.argv[2]}")
print(f"  (not durable, for comparison only: a durable commit costs the baseline {1000 * (full - normal) / n:.2f} ms here)")
PY
echo "ledgerd ingest:     posted=$posted seconds=$secs files_per_s=$fps (whole process; left in inbox: $left)"
echo "  files alone:      seconds=$span files_per_s=$span_fps (first file taken to last settled)"
echo "ledgerd peak RSS:   $((rss_kb / 1024)) MiB"
python3 -c "print(f'ratio:              {$fps/$base_fps:.1f}x the baseline (whole process against its files alone), {$span_fps/$base_fps:.1f}x on the same span as its own')"

[ "${BENCH_DAEMON:-1}" = 0 ] && exit 0
echo
python3 scripts/bench_daemon.py "$bin" "$bench_dir/gen_ehf.py" --latency 50 --burst "${DAEMON_BURST:-$N}" --wrk \
  --prefill "$prefill"
