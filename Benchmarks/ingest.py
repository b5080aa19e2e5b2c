#!/usr/bin/env python3
"""End-to-end ingest (issue 12 §4): one local TLS server blasts N chat messages, same run, same stream,
at slixmpp counting them (the reference) and at `tern sync --watch` storing them.

Usage: Benchmarks/ingest.py [--messages N] [--runs R] [--tern-only] [--binary PATH] [--timeout S]

The server is Benchmarks/blaster.py (about 340-byte messages, each with a unique id and a unique
last word). slixmpp (Tests/peer/peer.py count) counts messages and stores nothing: its rate runs
from the blaster's first write to the Nth message handled. tern gets a fresh --home, `tern login`,
then `tern sync --watch --json`; its SQLite file is polled read-only every 10 ms for two moments:
the last message's row is stored, and its unique word is found in message_fts (searchable). Peak
RSS is the kernel's high-water mark (VmHWM while polling, ru_maxrss at exit), for slixmpp too.
Exits 1 with one line if tern has not stored and indexed the last message within the timeout
(default max(120 s, N/1000 s)), or stored fewer than N. The server, the clients and the temporary
directory go however it ends; after a SIGKILL only the directory stays (the kernel sends the
children SIGTERM; a tern still holding a backlog stores it first, which may take a while).
"""
import argparse, ctypes, json, os, queue, shutil, signal, sqlite3, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
BLASTER = os.path.join(HERE, "blaster.py")
PEER = os.path.join(HERE, "..", "Tests", "peer", "peer.py")
sys.path.insert(0, HERE)
from blaster import token  # noqa: E402  (the unique word of message n)

POLL_SECONDS = 0.01


class BenchFailure(Exception):
    """Ends the bench with one line on stderr and status 1."""


def die_with_parent():
    """Runs in each child before exec: the kernel sends it SIGTERM if this script dies, even by SIGKILL."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(argv, **kwargs):
    return subprocess.Popen(argv, preexec_fn=die_with_parent, **kwargs)


def reap(proc, timeout=10.0):
    """Ends proc (SIGTERM, then SIGKILL) if it still runs; returns its peak RSS in KB from rusage."""
    deadline = time.monotonic() + timeout
    if proc.returncode is not None:
        return 0
    try:
        proc.send_signal(signal.SIGTERM)
    except ProcessLookupError:
        pass
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return usage.ru_maxrss
        if time.monotonic() > deadline:
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            return usage.ru_maxrss
        time.sleep(0.02)


def wait_exit(proc, name, timeout):
    """Waits for proc to end by itself; returns (exit code, peak RSS in KB)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, usage.ru_maxrss
        if time.monotonic() > deadline:
            reap(proc)
            raise BenchFailure(f"{name} did not finish within {timeout:.0f} s")
        time.sleep(0.02)


def vm_hwm_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def last_line(path):
    try:
        with open(path, errors="replace") as f:
            lines = [line.strip() for line in f if line.strip()]
        return lines[-1] if lines else "(nothing on stderr)"
    except OSError:
        return "(no stderr)"


class Blaster:
    """The server process and the JSON events it prints, read by a thread."""

    def __init__(self, directory, messages):
        self.stderr_path = os.path.join(directory, "blaster.stderr")
        with open(self.stderr_path, "w") as stderr:
            self.proc = spawn([sys.executable, BLASTER, "--dir", directory, "--messages", str(messages)],
                              stdout=subprocess.PIPE, stderr=stderr, text=True)
        first = self.proc.stdout.readline().strip()
        if not first.isdigit():
            raise BenchFailure(f"blaster did not start: {last_line(self.stderr_path)}")
        self.port = int(first)
        self.ca = os.path.join(directory, "cert", "localhost.crt")
        self.events = queue.Queue()
        self.message_bytes = None  # the mean message size of the last blast
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for line in self.proc.stdout:
            try:
                self.events.put(json.loads(line))
            except ValueError:
                pass

    def forget_events(self):
        while not self.events.empty():
            self.events.get_nowait()

    def next_blast_start(self, timeout, alive=lambda: True):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not alive():
                return None
            try:
                event = self.events.get(timeout=0.1)
            except queue.Empty:
                continue
            if event.get("event") == "blast-start":
                self.message_bytes = event.get("bytes")
                return event["t"]
        return None


def run_slixmpp(blaster, args):
    """msgs/s from the first write to the Nth message counted, and the peak RSS in KB."""
    blaster.forget_events()
    peer = spawn([sys.executable, PEER, "count", "--jid", "counter@localhost", "--password", "pw-counter",
                  "--host", "127.0.0.1", "--port", str(blaster.port), "--ca", blaster.ca,
                  "--count", str(args.messages), "--timeout", str(args.timeout)],
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        code, peak_kb = wait_exit(peer, "the slixmpp counter", args.timeout + 60)
        out, err = peer.stdout.read(), peer.stderr.read()
    finally:
        reap(peer)
    if code != 0:
        raise BenchFailure(f"slixmpp counter failed (status {code}): {' '.join(err.split()) or 'no message'}")
    start = blaster.next_blast_start(5)
    if start is None:
        raise BenchFailure("the blaster never reported blasting the slixmpp counter")
    last = json.loads(out.strip().splitlines()[-1])["last"]
    return args.messages / (last - start), peak_kb


def run_tern(blaster, args, directory):
    """msgs/s to the last stored and to the last searchable, the search lag, and the peak RSS in KB."""
    home = os.path.join(directory, "home")
    os.makedirs(home, mode=0o700)
    password_file = os.path.join(directory, "password")
    with open(password_file, "w") as f:
        f.write("pw-bench")
    os.chmod(password_file, 0o600)
    stderr_path = os.path.join(directory, "tern.stderr")
    try:
        login = subprocess.run([args.binary, "--home", home, "login", "bench@localhost",
                                "--server", f"127.0.0.1:{blaster.port}", "--ca-file", blaster.ca,
                                "--password-file", password_file],
                               capture_output=True, text=True, timeout=120, preexec_fn=die_with_parent)
    except subprocess.TimeoutExpired:
        raise BenchFailure("tern login did not finish within 120 s")
    if login.returncode != 0:
        raise BenchFailure(f"tern login failed (status {login.returncode}): "
                           f"{' '.join((login.stderr or login.stdout).split()) or 'no message'}")
    blaster.forget_events()
    with open(stderr_path, "w") as stderr:
        tern = spawn([args.binary, "--home", home, "sync", "--watch", "--json"],
                     stdout=subprocess.DEVNULL, stderr=stderr)
    peak_kb = 0
    try:
        start = blaster.next_blast_start(60, alive=lambda: tern.poll() is None)
        if start is None:
            ended = "" if tern.poll() is None else f" (it ended, status {tern.returncode})"
            raise BenchFailure(f"tern sync --watch never got the blast{ended}: {last_line(stderr_path)}")
        stored, searchable, peak_kb, count = poll_store(tern, os.path.join(home, "tern.sqlite"), start, args,
                                                        stderr_path)
        peak_kb = max(peak_kb, vm_hwm_kb(tern.pid))
    finally:
        peak_kb = max(peak_kb, reap(tern))
    if count != args.messages:
        raise BenchFailure(f"tern stored {count} of {args.messages} messages (the last one included)")
    return args.messages / (stored - start), args.messages / (searchable - start), searchable - stored, peak_kb


def poll_store(tern, path, start, args, stderr_path):
    """Polls the store read-only until the last message is stored and searchable; fails at the deadline."""
    last_id, last_token = f"blast-{args.messages}", f'"{token(args.messages)}"'
    deadline = start + args.timeout
    db = None
    seen_id, stored, searchable, peak_kb = 0, None, None, 0
    try:
        while stored is None or searchable is None:
            now = time.monotonic()
            if tern.poll() is not None:
                raise BenchFailure(f"tern sync --watch ended (status {tern.returncode}) before storing the last "
                                   f"message: {last_line(stderr_path)}")
            if now > deadline:
                what = "stored" if stored is None else "searchable"
                raise BenchFailure(f"tern had not made the last message {what} within {args.timeout:.0f} s "
                                   f"({seen_id} rows stored)")
            peak_kb = max(peak_kb, vm_hwm_kb(tern.pid))
            if db is None and os.path.exists(path):
                db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
            if db is not None:
                # Only rows added since the last poll are read: each row once, whatever N.
                newest, found = db.execute("SELECT max(id), max(stanza_key = ?) FROM message WHERE id > ?",
                                           (last_id, seen_id)).fetchone()
                seen_id = newest or seen_id
                if stored is None and found:
                    stored = now
                if searchable is None and db.execute("SELECT rowid FROM message_fts WHERE message_fts MATCH ?",
                                                     (last_token,)).fetchone():
                    searchable = now
            time.sleep(POLL_SECONDS)
        count = db.execute("SELECT count(*) FROM message").fetchone()[0]
    finally:
        if db is not None:
            db.close()
    return stored, searchable, peak_kb, count


def slixmpp_version():
    try:
        import slixmpp
        return slixmpp.__version__
    except ImportError:
        raise BenchFailure("slixmpp is not installed; run scripts/install-deps (or pass --tern-only)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--tern-only", action="store_true", help="no slixmpp reference (e.g. for the 1M RSS check)")
    parser.add_argument("--binary", default=".build/release/tern")
    parser.add_argument("--timeout", type=float, default=None, help="seconds for a client to take it all")
    args = parser.parse_args()
    if args.messages < 1 or args.runs < 1:
        parser.error("--messages and --runs must be at least 1")
    if not os.access(args.binary, os.X_OK):
        parser.error(f"no tern binary at {args.binary} (make release)")
    args.timeout = args.timeout or max(120.0, args.messages / 1000)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    directory = tempfile.mkdtemp(prefix="tern-ingest-bench-")
    blaster = None
    try:
        version = None if args.tern_only else slixmpp_version()
        blaster = Blaster(directory, args.messages)
        for run in range(1, args.runs + 1):
            run_directory = os.path.join(directory, f"run{run}")
            os.makedirs(run_directory)
            reference = None if args.tern_only else run_slixmpp(blaster, args)
            stored, searchable, lag, tern_kb = run_tern(blaster, args, run_directory)
            if run == 1:
                print(f"end-to-end ingest: {args.messages} chat messages of {blaster.message_bytes} bytes on average, "
                      f"one local TLS server, same run")
            prefix = f"  run {run}: " if args.runs > 1 else "  "
            if reference:
                print(f"{prefix}slixmpp {version} counting, nothing stored: {reference[0]:,.0f} msgs/s, "
                      f"peak RSS {reference[1] / 1024:.0f} MB")
            print(f"{prefix}tern sync --watch: {stored:,.0f} msgs/s to the last stored, {searchable:,.0f} msgs/s "
                  f"to the last searchable (search lag {lag * 1000:.0f} ms), peak RSS {tern_kb / 1024:.0f} MB")
            if reference:
                print(f"{prefix}tern / slixmpp: {stored / reference[0]:.2f}x stored, "
                      f"{searchable / reference[0]:.2f}x searchable (aim: >= 3x, searchable within 1 s)")
            sys.stdout.flush()
    except BenchFailure as failure:
        sys.exit(f"ingest bench: {failure}")
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        if blaster:
            reap(blaster.proc)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
