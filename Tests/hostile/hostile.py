#!/usr/bin/env python3
"""A hostile XMPP server for tern's integration tests: one misbehaviour per run.

    hostile.py --scenario NAME --dir DIR [--domain localhost] [--password PW]

It listens on 127.0.0.1 (a free port), speaks real STARTTLS with a self-signed
certificate made like scripts/testserver makes one (DIR/cert/localhost.crt, which
the client trusts as its CA file; servers may share a DIR) and real SCRAM-SHA-256 / SCRAM-SHA-1 (RFC 5802,
RFC 7677), so it can log a client in when the scenario wants. Any user name is
accepted; the password is --password, else "pw-" + the user name (the test
server's convention).

stdout: the first line is the port, printed once listening; then one JSON object
per line for each thing a test may check, e.g.
    {"conn": 2, "event": "auth", "mechanism": "SCRAM-SHA-256"}
    {"conn": 2, "event": "message", "id": "...", "handled": true, "delay": false}
It runs until SIGTERM or SIGINT, or until the process that started it is gone.

Scenarios (what differs from a well-behaved server):
  normal                  nothing: log in, bind, stream management, acks.
  starttls-stripped       the first features offer no <starttls/> (PLAIN and SCRAM instead).
  plaintext-after-proceed plaintext stream header and features (PLAIN only) in the same
                          write as <proceed/>, before the TLS handshake.
  plaintext-after-proceed-late  the same bytes, but written 0.3 s after <proceed/>:
                          they land where the TLS handshake expects records.
  scram-i1                the server-first-message says i=1.
  scram-i1e9              i=1000000000.
  scram-nonce             a server nonce that does not start with the client's.
  scram-bad-v             <success> carries a server signature that is wrong.
  scram-no-v              <success/> with no additional data at all.
  sm-ack-too-high         every <r/> gets <a h> five above what the client sent.
  sm-failed-h             the first stream-management session is never acked and is cut
                          once messages arrive; its <resume/> gets <failed h> counting only
                          the first message; later sessions behave.
  sm-resumed-wrong-previd as sm-failed-h, but <resume/> gets <resumed> naming another session.
  sm-resumed-unsolicited  <enable/> is answered with <resumed/> for a session never had.
  sm-error-mid-flush      the first session handles two messages, then sends a stream error
                          (<internal-server-error/>) in the middle of the flush; its <resume/>
                          then works, with h counting those two.
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import signal
import ssl
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

NS_STREAM = "http://etherx.jabber.org/streams"
NS_CLIENT = "jabber:client"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_SM = "urn:xmpp:sm:3"
NS_STREAMS = "urn:ietf:params:xml:ns:xmpp-streams"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_DELAY = "urn:xmpp:delay"
NS_SID = "urn:xmpp:sid:0"
NS_PING = "urn:xmpp:ping"
NS_ROSTER = "jabber:iq:roster"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"

SCENARIOS = [
    "normal", "starttls-stripped", "plaintext-after-proceed", "plaintext-after-proceed-late",
    "scram-i1", "scram-i1e9", "scram-nonce", "scram-bad-v", "scram-no-v",
    "sm-ack-too-high", "sm-failed-h", "sm-resumed-wrong-previd", "sm-resumed-unsolicited",
    "sm-error-mid-flush",
]

HASHES = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-1": "sha1"}
ITERATIONS = 4096


def emit(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


def q(name):
    """ElementTree's {namespace}name → (namespace, name)."""
    if name.startswith("{"):
        ns, _, local = name[1:].partition("}")
        return ns, local
    return "", name


def make_certificate(directory):
    """A self-signed certificate for localhost, as scripts/testserver makes it, in DIR/cert.

    Made once per directory: servers started together may share one, so each makes its own
    in a private folder and renames it into place; a loser of that race uses the winner's.
    """
    final = os.path.join(directory, "cert")
    cert, key = os.path.join(final, "localhost.crt"), os.path.join(final, "localhost.key")
    if os.path.exists(cert):
        return cert, key
    os.makedirs(directory, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="making-", dir=directory)
    result = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-sha256",
         "-keyout", os.path.join(scratch, "localhost.key"), "-out", os.path.join(scratch, "localhost.crt"),
         "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,DNS:conference.localhost,DNS:upload.localhost,IP:127.0.0.1",
         "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
         "-addext", "extendedKeyUsage=serverAuth"],
        capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit("hostile: openssl failed: " + " ".join(result.stderr.split()))
    os.chmod(os.path.join(scratch, "localhost.key"), 0o600)
    try:
        os.rename(scratch, final)
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)  # another server got there first
    return cert, key


class StreamClosed(Exception):
    pass


class XMLStream:
    """Reads an XML stream element by element (depth 1), with a fresh parser per restart."""

    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer
        self.reset()

    def reset(self):
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.root = None
        self.pending = []

    async def next(self, timeout=60):
        """("header", attrs) | ("element", Element) | ("footer", None); StreamClosed at EOF."""
        while not self.pending:
            try:
                data = await asyncio.wait_for(self.reader.read(65536), timeout)
            except (ConnectionError, ssl.SSLError) as exc:
                raise StreamClosed(str(exc))
            if not data:
                raise StreamClosed("eof")
            try:
                self.parser.feed(data)
                events = list(self.parser.read_events())
            except ET.ParseError as exc:
                raise StreamClosed(f"not well-formed: {exc}")
            for event, element in events:
                if event == "start":
                    self.depth += 1
                    if self.depth == 1:
                        self.root = element
                        self.pending.append(("header", dict(element.attrib)))
                else:
                    self.depth -= 1
                    if self.depth == 1:
                        self.root.remove(element)
                        self.pending.append(("element", element))
                    elif self.depth == 0:
                        self.pending.append(("footer", None))
        return self.pending.pop(0)

    async def send(self, text):
        self.writer.write(text.encode())
        await self.writer.drain()


class SMSession:
    """Server-side XEP-0198 state that outlives a connection."""

    def __init__(self, sm_id, jid):
        self.id = sm_id
        self.jid = jid
        self.handled = 0       # the server's h: countable stanzas it took in
        self.resumable = True


class Server:
    def __init__(self, args, context, connection_class=None):
        self.args = args
        self.context = context
        # A server built on this one (Benchmarks/blaster.py) brings its own kind of connection.
        self.connection_class = connection_class or Connection
        self.connections = 0
        self.sessions = {}         # SM-ID → SMSession
        self.sm_enabled_count = 0  # sessions enabled so far, over all connections
        self.salts = {}            # user → salt, stable for the server's lifetime

    def password(self, user):
        return self.args.password if self.args.password is not None else "pw-" + user

    def salt(self, user):
        return self.salts.setdefault(user, secrets.token_bytes(16))

    async def handle(self, reader, writer):
        self.connections += 1
        conn = self.connection_class(self, self.connections, reader, writer)
        emit({"conn": conn.number, "event": "connect"})
        try:
            await conn.run()
        except (StreamClosed, ConnectionError) as exc:
            conn.log("closed", how=str(exc))
        except asyncio.TimeoutError:
            conn.log("closed", how="idle timeout")
        except Exception as exc:  # a test server reports, it does not crash
            conn.log("server-error", error=f"{type(exc).__name__}: {exc}")
        finally:
            conn.lost()
            try:
                writer.transport.abort()
            except Exception:
                pass


class Connection:
    # How long a bound session may stay quiet before the server gives up on it (None: forever).
    idle_timeout = 60

    def __init__(self, server, number, reader, writer):
        self.server = server
        self.scenario = server.args.scenario
        self.domain = server.args.domain
        self.number = number
        self.stream = XMLStream(reader, writer)
        self.writer = writer
        self.tls = False
        self.user = None
        self.jid = None
        self.sm = None             # the SMSession counting on this stream
        self.sm_number = 0         # which enabled session this is (1 = the server's first)
        self.messages_seen = 0     # messages read on this connection's SM session
        self.dropping = False      # the server's h stopped counting on this stream
        self.cut_task = None

    def log(self, event, **fields):
        emit({"conn": self.number, "event": event, **fields})

    # MARK: - Negotiation

    async def run(self):
        await self.expect_header()
        if self.scenario == "starttls-stripped":
            await self.stream.send(self.header() + "<stream:features>" + self.mechanisms(["PLAIN", "SCRAM-SHA-1"])
                                   + "</stream:features>")
            await self.plaintext_auth()
            return
        await self.stream.send(self.header() + f"<stream:features><starttls xmlns='{NS_TLS}'><required/></starttls>"
                               "</stream:features>")
        kind, element = await self.stream.next()
        if kind != "element" or q(element.tag) != (NS_TLS, "starttls"):
            self.log("unexpected", what=self.describe(kind, element))
            return
        self.log("starttls")
        await self.start_tls()
        await self.expect_header()
        await self.stream.send(self.header() + "<stream:features>"
                               + self.mechanisms(["SCRAM-SHA-256", "SCRAM-SHA-1"]) + "</stream:features>")
        if not await self.authenticate():
            return
        self.stream.reset()
        await self.expect_header()
        await self.stream.send(self.header() + "<stream:features>" + self.session_features() + "</stream:features>")
        await self.session()

    def session_features(self):
        """What the stream after authentication offers."""
        return f"<bind xmlns='{NS_BIND}'/><sm xmlns='{NS_SM}'/>"

    def header(self):
        return ("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                f"xmlns:stream='{NS_STREAM}' from={quoteattr(self.domain)} id='{secrets.token_hex(8)}' "
                "version='1.0' xml:lang='en'>")

    def mechanisms(self, names):
        return (f"<mechanisms xmlns='{NS_SASL}'>"
                + "".join(f"<mechanism>{name}</mechanism>" for name in names) + "</mechanisms>")

    async def expect_header(self):
        kind, element = await self.stream.next()
        if kind != "header":
            raise StreamClosed(f"expected a stream header, got {self.describe(kind, element)}")

    def describe(self, kind, element):
        return f"<{q(element.tag)[1]} xmlns='{q(element.tag)[0]}'>" if kind == "element" else kind

    async def plaintext_auth(self):
        """No TLS was offered: whatever the client sends now is logged; an <auth> is the failure tested for."""
        while True:
            kind, element = await self.stream.next()
            if kind == "footer":
                self.log("closed", how="footer")
                await self.stream.send("</stream:stream>")
                return
            if kind == "element" and q(element.tag) == (NS_SASL, "auth"):
                self.log("auth", mechanism=element.get("mechanism"), tls=False, data=bool((element.text or "").strip()))
                await self.stream.send(f"<failure xmlns='{NS_SASL}'><not-authorized/></failure>")
            else:
                self.log("unexpected", what=self.describe(kind, element))

    async def start_tls(self):
        injected = (f"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='{NS_STREAM}' "
                    f"from='{self.domain}' id='injected' version='1.0'><stream:features>"
                    + self.mechanisms(["PLAIN"]) + "</stream:features>")
        proceed = f"<proceed xmlns='{NS_TLS}'/>"
        transport = self.writer.transport
        if self.scenario == "plaintext-after-proceed":
            self.writer.write((proceed + injected).encode())
        elif self.scenario == "plaintext-after-proceed-late":
            # The ClientHello must stay in the kernel until the TLS layer reads it.
            transport.pause_reading()
            self.writer.write(proceed.encode())
            await asyncio.sleep(0.3)
            self.writer.write(injected.encode())
        else:
            self.writer.write(proceed.encode())
        await self.writer.drain()
        try:
            await self.writer.start_tls(self.server.context)
        except (ssl.SSLError, ConnectionError, OSError) as exc:
            self.log("tls-failed", error=" ".join(str(exc).split()))
            raise StreamClosed("tls failed")
        self.tls = True
        self.log("tls", version=self.writer.get_extra_info("ssl_object").version())
        self.stream.reset()

    async def authenticate(self):
        kind, element = await self.stream.next()
        if kind != "element" or q(element.tag) != (NS_SASL, "auth"):
            self.log("unexpected", what=self.describe(kind, element))
            return False
        mechanism = element.get("mechanism")
        self.log("auth", mechanism=mechanism, tls=self.tls, data=bool((element.text or "").strip()))
        if mechanism not in HASHES:
            await self.sasl_failure("invalid-mechanism")
            return False
        scram = SCRAMServer(self.server, HASHES[mechanism])
        try:
            scram.first(base64.b64decode(element.text or "", validate=True).decode())
        except (ValueError, UnicodeDecodeError) as exc:
            self.log("sasl-bad-input", error=str(exc))
            await self.sasl_failure("malformed-request")
            return False
        iterations = ITERATIONS
        nonce_prefix = scram.client_nonce
        if self.scenario == "scram-i1":
            iterations = 1
        elif self.scenario == "scram-i1e9":
            iterations = 1_000_000_000
        elif self.scenario == "scram-nonce":
            nonce_prefix = secrets.token_urlsafe(18)
        server_first = scram.server_first(nonce_prefix, iterations)
        await self.stream.send(f"<challenge xmlns='{NS_SASL}'>{b64(server_first)}</challenge>")

        kind, element = await self.stream.next()
        if kind == "element" and q(element.tag) == (NS_SASL, "abort"):
            self.log("sasl-abort")
            await self.sasl_failure("aborted")
            return False
        if kind != "element" or q(element.tag) != (NS_SASL, "response"):
            self.log("unexpected", what=self.describe(kind, element))
            return False
        self.log("sasl-response")
        if iterations > 100_000:
            # Never computed here: the client should not have answered at all.
            await self.sasl_failure("not-authorized")
            return False
        try:
            verifier = scram.final(base64.b64decode(element.text or "", validate=True).decode())
        except (ValueError, UnicodeDecodeError) as exc:
            self.log("sasl-bad-input", error=str(exc))
            await self.sasl_failure("malformed-request")
            return False
        if verifier is None:
            self.log("proof", ok=False)
            await self.sasl_failure("not-authorized")
            return False
        self.log("proof", ok=True)
        self.user = scram.user
        if self.scenario == "scram-bad-v":
            await self.stream.send(f"<success xmlns='{NS_SASL}'>{b64('v=' + b64(secrets.token_bytes(32)))}</success>")
        elif self.scenario == "scram-no-v":
            await self.stream.send(f"<success xmlns='{NS_SASL}'/>")
        else:
            await self.stream.send(f"<success xmlns='{NS_SASL}'>{b64('v=' + b64(verifier))}</success>")
        return True

    async def sasl_failure(self, condition):
        await self.stream.send(f"<failure xmlns='{NS_SASL}'><{condition}/></failure>")

    # MARK: - The session

    async def session(self):
        while True:
            kind, element = await self.stream.next(self.idle_timeout)
            if kind == "footer":
                self.log("closed", how="footer")
                if self.sm:
                    self.sm.resumable = False  # a clean close ends the session (XEP-0198 §5)
                await self.stream.send("</stream:stream>")
                return
            if kind != "element":
                self.log("unexpected", what=kind)
                continue
            ns, name = q(element.tag)
            if ns == NS_SM:
                if not await self.stream_management(name, element):
                    return
            elif ns == NS_STREAM and name == "error":
                self.log("client-stream-error", conditions=[q(child.tag)[1] for child in element],
                         h=next((child.get("h") for child in element if q(child.tag)[1] == "handled-count-too-high"), None))
                if self.sm:
                    self.sm.resumable = False
            elif ns == NS_CLIENT and name in ("iq", "message", "presence"):
                if not await self.stanza(name, element):
                    return
            else:
                self.log("unexpected", what=self.describe(kind, element))

    async def stanza(self, name, element):
        """Handles one stanza; False when the scenario ends the stream here."""
        if name == "iq" and element.get("type") == "set" and element.find(f"{{{NS_BIND}}}bind") is not None:
            resource = element.findtext(f"{{{NS_BIND}}}bind/{{{NS_BIND}}}resource") or "hostile"
            self.jid = f"{self.user}@{self.domain}/{resource}"
            self.log("bind", jid=self.jid)
            await self.stream.send(f"<iq type='result' id={quoteattr(element.get('id', ''))}>"
                                   f"<bind xmlns='{NS_BIND}'><jid>{escape(self.jid)}</jid></bind></iq>")
            return True
        handled = True
        if self.sm:
            handled = not self.dropping
            if self.sm_number == 1 and name == "message":
                # The first session takes in one message (two mid-flush), and nothing after it.
                if self.scenario in ("sm-failed-h", "sm-resumed-wrong-previd") and self.messages_seen >= 1:
                    handled = False
                if self.scenario == "sm-error-mid-flush" and self.messages_seen >= 2:
                    handled = False
            self.dropping = not handled
            if handled:
                self.sm.handled += 1
        if name == "message":
            self.messages_seen += 1 if self.sm else 0
            self.log("message", id=element.get("id"), to=element.get("to"),
                     origin_id=next((e.get("id") for e in element.iter(f"{{{NS_SID}}}origin-id")), None),
                     body=element.findtext(f"{{{NS_CLIENT}}}body"),
                     delay=element.find(f"{{{NS_DELAY}}}delay") is not None,
                     handled=handled, session=self.sm.id if self.sm else None)
            if self.sm and self.sm_number == 1:
                if self.scenario in ("sm-failed-h", "sm-resumed-wrong-previd") and self.cut_task is None:
                    self.cut_task = asyncio.ensure_future(self.cut_later())
                if self.scenario == "sm-error-mid-flush" and not handled:
                    self.log("sent-stream-error", condition="internal-server-error")
                    await self.stream.send(f"<stream:error><internal-server-error xmlns='{NS_STREAMS}'/>"
                                           "</stream:error></stream:stream>")
                    return False
        elif name == "iq":
            await self.answer_iq(element)
        return True

    async def cut_later(self):
        """Lets the rest of the flush arrive, then drops the link without a word."""
        await asyncio.sleep(0.5)
        self.log("cut", handled=self.sm.handled if self.sm else None)
        self.writer.transport.abort()

    async def answer_iq(self, element):
        kind = element.get("type")
        if kind not in ("get", "set"):
            return
        iq_id = quoteattr(element.get("id", ""))
        to = element.get("to")
        reply_from = f" from={quoteattr(to)}" if to else ""
        child = next(iter(element), None)
        ns, name = q(child.tag) if child is not None else ("", "")
        if ns == NS_PING:
            await self.stream.send(f"<iq type='result' id={iq_id}{reply_from}/>")
        elif ns == NS_ROSTER and kind == "get":
            await self.stream.send(f"<iq type='result' id={iq_id}><query xmlns='{NS_ROSTER}'/></iq>")
        elif ns == NS_DISCO_INFO and kind == "get":
            await self.stream.send(f"<iq type='result' id={iq_id}{reply_from}><query xmlns='{NS_DISCO_INFO}'>"
                                   f"<identity category='server' type='im' name='hostile'/>"
                                   f"<feature var='{NS_DISCO_INFO}'/></query></iq>")
        else:
            await self.stream.send(f"<iq type='error' id={iq_id}{reply_from}><error type='cancel'>"
                                   f"<service-unavailable xmlns='{NS_STANZAS}'/></error></iq>")

    async def stream_management(self, name, element):
        """XEP-0198 nonzas, as the scenario bends them; False when the stream ends here."""
        sessions = self.server.sessions
        if name == "enable":
            self.log("enable", resume=element.get("resume"))
            if self.scenario == "sm-resumed-unsolicited":
                await self.stream.send(f"<resumed xmlns='{NS_SM}' previd='never-enabled' h='3'/>")
                return True
            self.server.sm_enabled_count += 1
            self.sm_number = self.server.sm_enabled_count
            self.sm = SMSession(secrets.token_hex(8), self.jid)
            sessions[self.sm.id] = self.sm
            await self.stream.send(f"<enabled xmlns='{NS_SM}' id='{self.sm.id}' resume='true' max='300'/>")
        elif name == "resume":
            previd, h = element.get("previd"), element.get("h")
            old = sessions.get(previd)
            self.log("resume", previd=previd, h=h, known=old is not None, resumable=bool(old and old.resumable))
            if old and old.resumable and self.scenario in ("sm-failed-h",) and old.handled > 0:
                old.resumable = False
                await self.stream.send(f"<failed xmlns='{NS_SM}' h='{old.handled}'>"
                                       f"<item-not-found xmlns='{NS_STANZAS}'/></failed>")
                self.log("resume-failed", h=old.handled)
            elif old and old.resumable and self.scenario == "sm-resumed-wrong-previd":
                await self.stream.send(f"<resumed xmlns='{NS_SM}' previd='{secrets.token_hex(8)}' h='{old.handled}'/>")
                self.log("resumed-wrong-previd", h=old.handled)
            elif old and old.resumable:
                self.sm = old
                self.jid = old.jid
                self.sm_number = 0  # resumed: the scenario's first-session behaviour is over
                await self.stream.send(f"<resumed xmlns='{NS_SM}' previd='{old.id}' h='{old.handled}'/>")
                self.log("resumed", h=old.handled)
            else:
                await self.stream.send(f"<failed xmlns='{NS_SM}'><item-not-found xmlns='{NS_STANZAS}'/></failed>")
                self.log("resume-failed", h=None)
        elif name == "r":
            if self.sm is None:
                return True
            if self.scenario in ("sm-failed-h", "sm-resumed-wrong-previd") and self.sm_number == 1:
                self.log("ack-withheld")
                return True
            h = self.sm.handled + (5 if self.scenario == "sm-ack-too-high" else 0)
            self.log("ack", h=h)
            await self.stream.send(f"<a xmlns='{NS_SM}' h='{h % 2**32}'/>")
        elif name == "a":
            self.log("client-ack", h=element.get("h"))
        else:
            self.log("unexpected", what=f"sm {name}")
        return True

    def lost(self):
        if self.cut_task:
            self.cut_task.cancel()


class SCRAMServer:
    """The server side of SCRAM (RFC 5802 §5): checks the client's proof, returns the server signature."""

    def __init__(self, server, hash_name):
        self.server = server
        self.hash_name = hash_name
        self.user = None
        self.client_nonce = None

    def first(self, client_first):
        # gs2-header: cbind-flag "," [authzid] ","
        flag, _, rest = client_first.partition(",")
        _authzid, _, bare = rest.partition(",")
        if not (flag in ("n", "y") or flag.startswith("p=")):
            raise ValueError(f"bad gs2 flag {flag!r}")
        self.gs2_header = client_first[: len(client_first) - len(bare)]
        self.client_first_bare = bare
        attributes = dict(part.split("=", 1) for part in bare.split(","))
        self.user = attributes["n"].replace("=2C", ",").replace("=3D", "=")
        self.client_nonce = attributes["r"]

    def server_first(self, nonce_prefix, iterations):
        self.nonce = nonce_prefix + secrets.token_urlsafe(18)
        self.iterations = iterations
        self.salt = self.server.salt(self.user)
        self.server_first_message = f"r={self.nonce},s={b64(self.salt)},i={iterations}"
        return self.server_first_message

    def final(self, client_final):
        """The server signature when the proof is right, else None."""
        without_proof, _, proof = client_final.rpartition(",p=")
        attributes = dict(part.split("=", 1) for part in without_proof.split(","))
        if attributes.get("r") != self.nonce:
            return None
        if base64.b64decode(attributes.get("c", "")) != self.gs2_header.encode():
            return None  # no channel binding is offered here, so only the bare header fits
        salted = hashlib.pbkdf2_hmac(self.hash_name, self.server.password(self.user).encode(), self.salt,
                                     self.iterations)
        client_key = hmac.digest(salted, b"Client Key", self.hash_name)
        stored_key = hashlib.new(self.hash_name, client_key).digest()
        auth_message = f"{self.client_first_bare},{self.server_first_message},{without_proof}".encode()
        signature = hmac.digest(stored_key, auth_message, self.hash_name)
        expected = bytes(a ^ b for a, b in zip(client_key, signature))
        if not hmac.compare_digest(expected, base64.b64decode(proof)):
            return None
        server_key = hmac.digest(salted, b"Server Key", self.hash_name)
        return hmac.digest(server_key, auth_message, self.hash_name)


def b64(data):
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def tls_context(directory):
    """A server-side TLS context (TLS 1.2 or later) on DIR's certificate, made if need be."""
    cert, key = make_certificate(directory)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


async def serve(server):
    """Listens on a free port of 127.0.0.1, printed as the first line, until SIGTERM, SIGINT or the parent's end."""
    # A test runner's thread may hand its blocked signals down: SIGTERM must reach us.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    print(listener.sockets[0].getsockname()[1], flush=True)

    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for signo in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signo, lambda: stop.done() or stop.set_result(None))
    asyncio.ensure_future(outlive_no_parent(stop))
    await stop
    listener.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", required=True, choices=SCENARIOS)
    parser.add_argument("--dir", required=True, help="where the certificate is made (and kept, for the next server)")
    parser.add_argument("--domain", default="localhost")
    parser.add_argument("--password", default=None)
    args = parser.parse_args()
    await serve(Server(args, tls_context(args.dir)))


async def outlive_no_parent(stop):
    """Ends the server with the test process that started it, even one killed before it could say so."""
    parent = os.getppid()
    while not stop.done():
        await asyncio.sleep(1)
        if os.getppid() != parent:
            stop.set_result(None)


if __name__ == "__main__":
    asyncio.run(main())
