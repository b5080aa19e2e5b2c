#!/usr/bin/env python3
"""Time from starting the release `tern` shell in a pseudo-terminal to its prompt.

Usage: Benchmarks/startup_to_prompt.py [--messages N] [--runs N]

Builds a throwaway data directory with one account and N stored messages (default 200,000),
so a start-up cost that grows with history shows up, then prints the median, min and max.
The account points at a closed port, so no network wait can hide in the figure.
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
    db.execute("""WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                  INSERT INTO message(account_id, conversation, direction, type, sender, recipient, body,
                                      timestamp, received_at, dedup_key)
                  SELECT 1, 'peer' || (i % 50) || '@localhost', 'in', 'chat', 'peer@localhost/x', 'bench@localhost',
                         'message number ' || i || ' lorem ipsum dolor sit amet', 1700000000 + i, 1700000000 + i, 'k' || i
                  FROM n""", (args.messages,))
    db.commit()
    db.close()

    samples = []
    for _ in range(args.runs):
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
    samples.sort()
    print(f"start to prompt with {args.messages} stored messages: median {statistics.median(samples):.1f} ms, "
          f"min {samples[0]:.1f} ms, max {samples[-1]:.1f} ms (n={len(samples)})")
finally:
    shutil.rmtree(home, ignore_errors=True)
