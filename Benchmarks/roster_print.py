#!/usr/bin/env python3
"""Wall time of `tern roster` (text and --json) printing a roster of N contacts (issue 4: < 100 ms for 2,000).

Usage: Benchmarks/roster_print.py [--contacts N] [--runs N]

Builds a throwaway data directory with one account and N contacts spread over 20 groups
(a tenth in two), with a third of them online on one or two resources with a status, then
runs the release binary with stdout to a pipe. The figure is the whole process: start,
open the store, query, format, print. `tern status` (one small read, one line) is timed
the same way as the floor that process start and store opening cost.
"""
import argparse, os, shutil, sqlite3, statistics, subprocess, tempfile, time

parser = argparse.ArgumentParser()
parser.add_argument("--contacts", type=int, default=2000)
parser.add_argument("--runs", type=int, default=20)
parser.add_argument("--binary", default=".build/release/tern")
args = parser.parse_args()

home = tempfile.mkdtemp(prefix="tern-bench-roster-")
try:
    subprocess.run([args.binary, "--home", home, "outbox"], capture_output=True)
    db = sqlite3.connect(os.path.join(home, "tern.sqlite"))
    db.execute("INSERT INTO account(jid, resource, host, port, is_default, state, created_at) "
               "VALUES ('bench@localhost', 'tern.bench', '127.0.0.1', 9, 1, 'active', 0)")
    shows = [None, "away", "xa", "dnd", "chat"]
    for i in range(args.contacts):
        jid = f"contact{i:05d}@example.org"
        db.execute("INSERT INTO contact(account_id, jid, name, subscription, ask, approved, updated_at) "
                   "VALUES (1, ?, ?, 'both', 0, 0, 0)", (jid, f"Contact {i}" if i % 3 else None))
        db.execute("INSERT INTO contact_group(account_id, jid, name) VALUES (1, ?, ?)", (jid, f"Group {i % 20:02d}"))
        if i % 10 == 0:
            db.execute("INSERT INTO contact_group(account_id, jid, name) VALUES (1, ?, 'Favourites')", (jid,))
        if i % 3 == 0:
            for r in range(1 + i % 2):
                db.execute("INSERT INTO presence(account_id, jid, resource, available, show, status, priority, updated_at) "
                           "VALUES (1, ?, ?, 1, ?, ?, ?, ?)",
                           (jid, f"res{r}", shows[i % 5], f"status text of contact {i}", r, 1700000000 + i))
        elif i % 3 == 1:
            db.execute("INSERT INTO presence(account_id, jid, resource, available, priority, updated_at) "
                       "VALUES (1, ?, 'gone', 0, 0, ?)", (jid, 1700000000 + i))
    db.commit()
    db.close()

    def timed(extra):
        samples = []
        lines = 0
        for _ in range(args.runs):
            start = time.perf_counter()
            out = subprocess.run([args.binary, "--home", home] + extra, stdout=subprocess.PIPE, check=True).stdout
            samples.append((time.perf_counter() - start) * 1000)
            lines = out.count(b"\n")
        return statistics.median(samples), min(samples), max(samples), lines

    for label, extra in [("roster (text)", ["roster"]), ("roster --json", ["roster", "--json"]), ("status (floor)", ["status"])]:
        median, low, high, lines = timed(extra)
        print(f"{label:15s} {args.contacts} contacts, {lines} lines: median {median:.1f} ms (min {low:.1f}, max {high:.1f}) over {args.runs} runs")
finally:
    shutil.rmtree(home, ignore_errors=True)
