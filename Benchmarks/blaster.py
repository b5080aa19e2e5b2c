#!/usr/bin/env python3
"""A blasting XMPP server for Benchmarks/ingest.py: logs a client in, then floods it with chat messages.

    blaster.py --dir DIR [--messages N] [--senders K] [--domain localhost]

It is Tests/hostile/hostile.py's well-behaved server (STARTTLS, SCRAM-SHA-256 / SCRAM-SHA-1
over RFC 5802, bind, empty roster, minimal disco#info, service-unavailable for any other IQ;
the client trusts DIR/cert/localhost.crt as its CA file) without stream management. Once a
client has sent its initial presence (or 3 s after bind if it sends none), it writes N
`<message type='chat'>` stanzas of about 340 bytes from K senders as fast as the socket takes
them: serialised in batches ahead of each write, written in large pieces. Message n (1-based)
has the id `blast-n` and a body of words ending in the unique token `token(n)`, so a client's
store can be searched for exactly that message. Every client that logs in gets the same N.

stdout: the port, then hostile.py's JSON lines, among them for each blast
    {"conn": C, "event": "blast-start", "t": T, "messages": N, "bytes": B}
        T: time.monotonic() at the first write; B: the first batch's mean message size
    {"conn": C, "event": "blast-end", "t": T}                     once the last byte is handed to the socket
It runs until SIGTERM or SIGINT, or until the process that started it is gone.
"""

import argparse
import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "hostile"))
import hostile  # noqa: E402  (found through the path above)

BATCH = 2000                  # messages serialised and written at once (about 680 KB)
SETTLE_SECONDS = 3.0          # blast anyway this long after bind when no initial presence comes
WORDS = ("see you at the station tomorrow morning bring the maps and some coffee please "
         "weather looks fine for a long walk along the river after lunch we could stop "
         "at that small bakery near the bridge").split()


def token(n):
    """The word only message n carries, last in its body (one FTS token: letters and digits)."""
    return f"zq{n:08d}k"


def bodies():
    """A few dozen bodies of common words, so messages differ without costing a join each."""
    return [" ".join(WORDS[(start + 7 * k) % len(WORDS)] for k in range(39)) for start in range(len(WORDS))]


class BlastConnection(hostile.Connection):
    idle_timeout = None  # a client busy storing the flood may say nothing for minutes

    def __init__(self, *args):
        super().__init__(*args)
        self.blast_task = None
        self.settle_task = None

    def session_features(self):
        return f"<bind xmlns='{hostile.NS_BIND}'/>"  # no XEP-0198: the flood needs no acks

    async def stanza(self, name, element):
        initial_presence = name == "presence" and element.get("to") is None and element.get("type") is None
        if initial_presence:
            self.start_blast()
        keep_going = await super().stanza(name, element)
        if name == "iq" and self.jid and self.settle_task is None:
            self.settle_task = asyncio.ensure_future(self.blast_after_settling())
        return keep_going

    async def blast_after_settling(self):
        await asyncio.sleep(SETTLE_SECONDS)
        self.start_blast()

    def start_blast(self):
        if self.blast_task is None and self.jid:
            self.blast_task = asyncio.ensure_future(self.blast())

    async def blast(self):
        total = self.server.args.messages
        senders = [f"sender{k}@{self.domain}/desk" for k in range(1, self.server.args.senders + 1)]
        texts = bodies()
        to = hostile.quoteattr(self.jid)

        def batch(first, last):
            return "".join(
                f"<message type='chat' from='{senders[n % len(senders)]}' to={to} id='blast-{n}'>"
                f"<body>{texts[n % len(texts)]} {token(n)}</body></message>"
                for n in range(first, last + 1)).encode()

        transport = self.writer.transport
        transport.set_write_buffer_limits(high=4 * BATCH * 340)
        data = batch(1, min(BATCH, total))
        self.log("blast-start", t=time.monotonic(), messages=total, bytes=round(len(data) / min(BATCH, total)))
        try:
            for first in range(1, total + 1, BATCH):
                if first > 1:
                    data = batch(first, min(first + BATCH - 1, total))
                self.writer.write(data)
                await self.writer.drain()
        except ConnectionError as exc:
            self.log("blast-cut", how=str(exc))
            return
        self.log("blast-end", t=time.monotonic())

    def lost(self):
        super().lost()
        for task in (self.blast_task, self.settle_task):
            if task:
                task.cancel()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", required=True, help="where the certificate is made (and kept)")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--domain", default="localhost")
    args = parser.parse_args()
    if args.messages < 1 or args.senders < 1:
        parser.error("--messages and --senders must be at least 1")
    args.scenario, args.password = "normal", None
    await hostile.serve(hostile.Server(args, hostile.tls_context(args.dir), BlastConnection))


if __name__ == "__main__":
    asyncio.run(main())
