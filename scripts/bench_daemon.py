#!/usr/bin/env python3
"""Daemon benchmark: drop->posted latency on an idle `ledgerd run`, burst throughput, and
resident memory over a long burst.

Usage: bench_daemon.py LEDGERD_BIN GEN_EHF_PY [--latency N] [--burst N] [--wrk] [--prefill P]

Starts a release `ledgerd run` in a temporary folder (durable commits, inotify), then:
  1. drops N single files one at a time into Inbox/ehf (write elsewhere, rename in) and
     measures the time until the file is in the archive (its row committed first);
  2. moves a burst of files in at once and measures files/second until all are posted,
     sampling the daemon's RSS (VmRSS) as it goes, and its peak (VmHWM) at the end;
  3. with --wrk, runs wrk against /api/status during a second burst (p99 and requests/s).
With --prefill P, P other invoices are posted first (`ledgerd ingest`, untimed), so the
daemon works on books that already hold P documents, as a running ledger's do.
"""
import argparse, os, shutil, signal, socket, sqlite3, statistics, subprocess, sys, tempfile, time

def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def alive(p):
    if p.poll() is not None:
        sys.exit(f"ledgerd exited with status {p.returncode}; see its log")

def count(db, sql="SELECT COUNT(*) FROM vendor_invoices"):
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        n = con.execute(sql).fetchone()[0]
        con.close()
        return n
    except sqlite3.Error:
        return -1

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin"); ap.add_argument("gen")
    ap.add_argument("--latency", type=int, default=50)
    ap.add_argument("--burst", type=int, default=10000)
    ap.add_argument("--wrk", action="store_true")
    ap.add_argument("--prefill", type=int, default=0)
    a = ap.parse_args()
    if os.sep in a.bin:
        a.bin = os.path.abspath(a.bin)  # the daemon runs in a temporary folder

    home = tempfile.mkdtemp(prefix="ledgerd-bench-daemon.")
    p = None
    port = free_port()
    try:
        os.makedirs(f"{home}/Inbox/ehf"); os.makedirs(f"{home}/var")
        # The status page's files, found first in the working folder: so a binary copied
        # out of the source tree (LEDGERD_BIN) serves them too.
        os.symlink(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Web"), f"{home}/Web")
        with open(f"{home}/ledgerd.toml", "w") as f:
            f.write('[company]\nname = "Nordlys Helse AS"\norg_number = "987654325"\n'
                    f'[server]\nlisten = "127.0.0.1:{port}"\n')
        total = a.latency + a.burst * (2 if a.wrk else 1)
        subprocess.run([sys.executable, a.gen, f"{home}/gen", str(total), "--seed", "7"], check=True,
                       stdout=subprocess.DEVNULL)
        names = sorted(os.listdir(f"{home}/gen"))
        if a.prefill > 0:
            subprocess.run([sys.executable, a.gen, f"{home}/prefill", str(a.prefill), "--seed", "8", "--start",
                            str(total)], check=True, stdout=subprocess.DEVNULL)
            for name in os.listdir(f"{home}/prefill"):
                os.rename(f"{home}/prefill/{name}", f"{home}/Inbox/ehf/{name}")
            subprocess.run([a.bin, "ingest", "--config", "ledgerd.toml"], cwd=home, check=True,
                           stdout=subprocess.DEVNULL)
            print(f"books already holding {a.prefill} documents")
        env = dict(os.environ, OMP_THREAD_LIMIT="1")
        log = open(f"{home}/daemon.log", "w")
        p = subprocess.Popen([a.bin, "run", "--config", "ledgerd.toml"], cwd=home, stdout=log, stderr=log, env=env)
        db = f"{home}/var/ledger.sqlite"
        deadline = time.time() + 30
        while count(db, "SELECT COUNT(*) FROM daemon_state") < 1:
            alive(p)
            if time.time() > deadline:
                sys.exit("ledgerd did not start within 30 s")
            time.sleep(0.05)
        time.sleep(0.5)

        # 1. Latency: one file at a time on an idle daemon.
        lat = []
        for i, name in enumerate(names[:a.latency]):
            before = count(db)
            t0 = time.perf_counter()
            os.rename(f"{home}/gen/{name}", f"{home}/Inbox/ehf/{name}")
            while count(db) <= before:
                alive(p)
                time.sleep(0.0005)
            lat.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.05)
        if lat:
            print(f"latency drop->posted over {len(lat)} files: median {statistics.median(lat):.1f} ms, "
                  f"p90 {sorted(lat)[max(0, int(len(lat) * 0.9) - 1)]:.1f} ms, max {max(lat):.1f} ms")

        # 2. Burst: all at once; RSS sampled while it runs.
        burst = names[a.latency:a.latency + a.burst]
        base = count(db)
        samples = []
        t0 = time.perf_counter()
        for name in burst:
            os.rename(f"{home}/gen/{name}", f"{home}/Inbox/ehf/{name}")
        moved = time.perf_counter() - t0
        while True:
            n = count(db) - base
            samples.append((n, rss_kib(p.pid)))
            if n >= len(burst):
                break
            alive(p)
            time.sleep(0.2)
        dt = time.perf_counter() - t0
        print(f"burst of {len(burst)} files (moved in within {moved:.1f} s): {len(burst) / dt:.0f} files/s "
              f"({dt:.1f} s until all posted)")
        quarter = [samples[min(len(samples) - 1, int(len(samples) * q))] for q in (0.25, 0.5, 0.75, 1.0)]
        print("RSS during the burst (posted, MiB): " +
              ", ".join(f"{n}: {kib / 1024:.0f}" for n, kib in quarter) +
              f"; peak {rss_kib(p.pid, 'VmHWM') / 1024:.0f} MiB")

        # 3. wrk on /api/status during a second burst.
        if a.wrk and shutil.which("wrk"):
            second = names[a.latency + a.burst:]
            for name in second:
                os.rename(f"{home}/gen/{name}", f"{home}/Inbox/ehf/{name}")
            out = subprocess.run(["wrk", "-t2", "-c8", "-d10s", "--latency", f"http://127.0.0.1:{port}/api/status"],
                                 capture_output=True, text=True).stdout
            rps = [l for l in out.splitlines() if "Requests/sec" in l]
            p99 = [l for l in out.splitlines() if l.strip().startswith("99%")]
            print(f"wrk /api/status during a burst of {len(second)}: {rps[0].split()[-1] if rps else '?'} req/s, "
                  f"p99 {p99[0].split()[-1] if p99 else '?'}; posted during the run: {count(db) - base - len(burst)}")
        p.send_signal(signal.SIGTERM)
        print(f"SIGTERM -> exit {p.wait(timeout=60)}")
    finally:
        # Whatever went wrong, no daemon is left running (and holding the port).
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()
        shutil.rmtree(home, ignore_errors=True)

if __name__ == "__main__":
    main()
