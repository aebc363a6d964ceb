#!/usr/bin/env python3
"""Mutation runs against a built ledgerd: many altered copies of real inputs, checking that
every one gets an answer and nothing breaks.

  scripts/mutate.py ehf    [--rounds R] [--per-round N] [--seed S] [--bin PATH]
  scripts/mutate.py config [--cases N] [--seed S] [--bin PATH]

ehf: alters the valid EHF fixtures (numbers, dates, elements dropped or repeated, bytes cut)
and runs `ledgerd ingest` on each round. Every round must exit 0 with the inbox empty; at the
end every document must be posted, a duplicate or rejected with a reason, every journal
entry must balance, and `ledgerd reconcile` must agree.

config: alters `ledgerd config example` (TOML punctuation, dates, escapes, NULs) and runs
`ledgerd config check` on each: the answer must be "valid" (0) or one error (2), never a
crash or a hang.

Exits 1 and keeps the failing inputs under the work folder if anything else happens.
"""
import argparse, glob, json, os, random, re, shutil, sqlite3, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUMBERS = [b"0", b"-1", b"99999999999999999999", b"1e5", b"0.001", b"-0.00", b"9223372036854775807",
           b"-9223372036854775808", b"12345678901234567.89", b"1.5", b"", b" 1 ", b"0x10", b"NaN", b"1,5",
           b"00001.10", b"1" + b"0" * 40]
DATES = [b"2026-02-30", b"0000-00-00", b"9999-12-31", b"2026-1-1", b"x", b"2026-13-01"]
TOML_TOKENS = [b"[", b"]", b"[[", b"]]", b"{", b"}", b"=", b'"', b"'", b'"""', b"'''", b",", b".", b"\n", b"#",
               b"\\", b"1979-05-27T", b"07:32:00", b"1e9", b"0x", b"inf", b"nan", b"+", b"-", b"_", b"\x00", b"\r",
               b"\t", b"true", b"[a.b]", b"a.b.c", b"{}", b"[]", b"\xff", b"\xc3", b'"\\u', b"0o", b"1_000"]


def mutate_ehf(rnd, base):
    s = bytearray(base)
    for _ in range(rnd.randint(1, 4)):
        op = rnd.random()
        if op < 0.5:
            found = list(re.finditer(rb">(-?[0-9][0-9.]*)<", bytes(s)))
            if found:
                m = rnd.choice(found)
                s[m.start(1):m.end(1)] = rnd.choice(NUMBERS)
        elif op < 0.65:
            found = list(re.finditer(rb">([0-9]{4}-[0-9]{2}-[0-9]{2})<", bytes(s)))
            if found:
                m = rnd.choice(found)
                s[m.start(1):m.end(1)] = rnd.choice(DATES)
        elif op < 0.85:
            found = list(re.finditer(rb"<(cac|cbc):([A-Za-z]+)[^>/]*>", bytes(s)))
            if found:
                m = rnd.choice(found)
                close = b"</" + m.group(1) + b":" + m.group(2) + b">"
                end = bytes(s).find(close, m.end())
                if end > 0:
                    chunk = bytes(s[m.start():end + len(close)])
                    if rnd.random() < 0.5:
                        del s[m.start():end + len(close)]
                    else:
                        s[m.start():m.start()] = chunk
        else:
            at = rnd.randint(0, len(s))
            del s[at:at + rnd.randint(1, 20)]
    return bytes(s)


def run(args, cwd, timeout=600):
    return subprocess.run(args, cwd=cwd, capture_output=True, timeout=timeout)


def ehf(opts, work):
    rnd = random.Random(opts.seed)
    bases = [open(f, "rb").read() for f in sorted(glob.glob(ROOT + "/Tests/FormatsTests/Fixtures/ehf/valid/*.xml"))]
    inbox = work + "/Inbox/ehf"
    os.makedirs(inbox)
    with open(work + "/ledgerd.toml", "w") as f:
        f.write('[company]\nname = "Test kunde AS"\norg_number = "987654325"\n')
    problems = 0
    for r in range(opts.rounds):
        for k in range(opts.per_round):
            with open(f"{inbox}/r{r}-{k}.xml", "wb") as f:
                f.write(mutate_ehf(rnd, rnd.choice(bases)))
        p = run([opts.bin, "ingest", "--config", "ledgerd.toml"], work)
        left = os.listdir(inbox)
        if p.returncode != 0 or left:
            problems += 1
            keep = f"{work}/failed-round-{r}"
            shutil.copytree(inbox, keep)
            for name in left:
                os.remove(f"{inbox}/{name}")
            print(f"round {r}: exit {p.returncode}, {len(left)} left in the inbox (kept in {keep})\n"
                  + p.stderr.decode(errors="replace")[-800:])
    db = sqlite3.connect(work + "/var/ledger.sqlite")
    states = dict(db.execute("SELECT state, COUNT(*) FROM documents GROUP BY state").fetchall())
    unexplained = db.execute(
        "SELECT COUNT(*) FROM documents WHERE state <> 'posted' AND (reason IS NULL OR reason = '')").fetchone()[0]
    unbalanced = db.execute(
        "SELECT COUNT(*) FROM (SELECT entry_id FROM journal_lines GROUP BY entry_id, currency"
        " HAVING SUM(debit_minor) <> SUM(credit_minor))").fetchone()[0]
    codes = db.execute("SELECT reason_code, COUNT(*) FROM documents WHERE state = 'rejected'"
                       " GROUP BY reason_code ORDER BY 2 DESC LIMIT 8").fetchall()
    reconcile = run([opts.bin, "reconcile", "--config", "ledgerd.toml", "--json"], work)
    agrees = reconcile.returncode == 0
    print(f"{opts.rounds * opts.per_round} altered invoices: {states}")
    print("most common rejections: " + ", ".join(f"{c} {n}" for c, n in codes))
    print(f"unexplained non-postings: {unexplained}; unbalanced entries: {unbalanced}; "
          f"reconcile: {'agrees' if agrees else 'DISAGREES'}")
    return problems + unexplained + unbalanced + (0 if agrees else 1)


def config(opts, work):
    rnd = random.Random(opts.seed)
    base = run([opts.bin, "config", "example"], work).stdout
    path = work + "/case.toml"
    problems = 0
    for i in range(opts.cases):
        s = bytearray(base)
        for _ in range(rnd.randint(1, 6)):
            op, at = rnd.random(), rnd.randint(0, len(s))
            if op < 0.5:
                s[at:at] = rnd.choice(TOML_TOKENS)
            elif op < 0.8:
                del s[at:at + rnd.randint(1, 8)]
            else:
                a = rnd.randint(0, len(s))
                s[at:at] = base[a:a + rnd.randint(1, 30)]
        with open(path, "wb") as f:
            f.write(s)
        try:
            status = run([opts.bin, "config", "check", "--config", path], work, timeout=10).returncode
        except subprocess.TimeoutExpired:
            status = "a hang"
        if status not in (0, 2):
            problems += 1
            keep = f"{work}/failed-{i}.toml"
            shutil.copy(path, keep)
            print(f"case {i}: {status if isinstance(status, str) else f'exit {status}'} (kept in {keep})")
    print(f"{opts.cases} altered configurations: {problems} without a clear answer")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["ehf", "config"])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=200)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bin", default=ROOT + "/.build/debug/ledgerd")
    opts = parser.parse_args()
    opts.bin = os.path.abspath(opts.bin)
    work = tempfile.mkdtemp(prefix="ledgerd-mutate-")
    problems = (ehf if opts.mode == "ehf" else config)(opts, work)
    if problems:
        print(f"{problems} problem(s); inputs kept in {work}")
        sys.exit(1)
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
