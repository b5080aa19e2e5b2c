#!/usr/bin/env python3
"""Time from starting the release `tern` shell in a pseudo-terminal to its prompt.

Usage: Benchmarks/startup_to_prompt.py [--messages N] [--runs N]

Builds a throwaway data directory with one account and N stored messages (default 200,000;
`make bench` runs 1,000,000), so a start-up cost that grows with history shows up, then prints
the median, min and max. The account points at a closed port, so no network wait can hide in
the figure. The rows are inserted directly, into whichever of the message columns the schema
has (a dedup_hash column gets a value when there is one). The first start is reported on its
own and left out of the figures: it may do one-time work on rows it did not write itself
(e.g. catching the search index up), which a later start must not repeat.
"""
import argparse, os, pty, select, shutil, sqlite3, statistics, subprocess, sys, tempfile, time

parser = argparse.ArgumentParser()
parser.add_argument("--messages", type=int, default=200_000)
parser.add_argument("--runs", type=int, default=20)
parser.add_argument("--binary", default=".build/release/tern")
args = parser.parse_args()

home = tempfile.mkdtemp(prefix="tern-bench-")
try:
    # Let tern create its schema, then fill it directly.
    subprocess.run([args.binary, "--home", home, "outbox"], capture_output=True)
    db = sqlite3.connect(os.path.join(home, "tern.sqlite"))
    db.execute("INSERT INTO account(jid, resource, host, port, is_default, state, created_at) "
               "VALUES ('bench@localhost', 'tern.bench', '127.0.0.1', 9, 1, 'active', 0)")
    columns = {row[1] for row in db.execute("PRAGMA table_info(message)")}
    values = {
        "account_id": "1", "conversation": "'peer' || (i % 50) || '@localhost'", "direction": "'in'",
        "type": "'chat'", "sender": "'peer@localhost/x'", "recipient": "'bench@localhost'",
        "body": "'message number ' || i || ' lorem ipsum dolor sit amet'",
        "timestamp": "1700000000 + i", "received_at": "1700000000 + i", "dedup_key": "'k' || i",
        # Distinct values spread out, as a hash of the dedup key would be (no overflow for i < 2^32).
        "dedup_hash": "(i * 2654435761) % 4294967291 * 1000003",
    }
    chosen = [name for name in values if name in columns]
    db.execute(f"""WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                   INSERT INTO message({", ".join(chosen)}) SELECT {", ".join(values[c] for c in chosen)} FROM n""",
               (args.messages,))
    db.commit()
    db.close()

    samples = []
    for _ in range(args.runs + 1):
        start = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(args.binary, [args.binary, "--home", home])
        seen = b""
        while not seen.rstrip().endswith(b">"):
            ready, _, _ = select.select([fd], [], [], 10)
            if not ready:
                sys.exit("no prompt within 10 s")
            seen += os.read(fd, 4096)
        samples.append((time.perf_counter() - start) * 1000)
        os.write(fd, b"/quit\r")
        os.waitpid(pid, 0)
    first, samples = samples[0], sorted(samples[1:])
    print(f"start to prompt with {args.messages} stored messages: median {statistics.median(samples):.1f} ms, "
          f"min {samples[0]:.1f} ms, max {samples[-1]:.1f} ms (n={len(samples)}; the first start, left out: "
          f"{first:.1f} ms)")
finally:
    shutil.rmtree(home, ignore_errors=True)
