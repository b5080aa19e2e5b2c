#!/usr/bin/env python3
"""A second XMPP client for tern's integration tests, built on slixmpp.

Swift tests run it with Process against the throwaway Prosody from
scripts/testserver. Connection options default to the TERN_TEST_* variables
that scripts/testserver writes to DIR/env.

Subcommands:
  send     --jid J --password P --to T --body B [--count N] [--id ID] [--origin-id ID]
           [--request-receipt]   body may contain {n} (1-based message number);
           exits once the server has processed every message (a ping round trip).
  receive  --jid J --password P [--from F] --count N --timeout S [--linger S]
           [--send-receipts] [--ready-file PATH]
           prints each chat message from F as one JSON line
           {"from","body","id","origin_id","stanza_id","delay"}; after the Nth it
           keeps listening --linger seconds and prints any extra (duplicate) ones.
  roster   --jid J --password P          prints the roster as a JSON array.
  login    --jid J --password P          exit 0 if authentication succeeds.
  subscribe-accept --jid J --password P --from F [--status S] [--then-status S2]
           [--timeout S] [--linger S]   online with status S; accepts F's subscribe and
           asks back; once F accepts ours, changes status to S2; exits after --linger.
  subscribe --jid J --password P --to T [--status MSG]   sends a subscription request.
  roster-add --jid J --password P --item X [--name N] [--group G]...
           sets a roster item from this (other) resource of the account.
  roster-push --jid J --password P --to FULLJID --item X [--name N]
           sends a spoofed roster push; prints {"type", "condition"} of the reply.
  vcard-set --jid J --password P --fn NAME   stores our own vcard-temp with FN.
  online   --jid J --password P --name N --version V [--message-to T --body B]
           [--timeout S] [--ready-file PATH]   stays online S seconds answering
           XEP-0092 with N/V; prints {"jid": our full JID} once ready.
  prefeatures [--domain D]               prints the stream features offered
           before TLS (raw XML) on a plain TCP connection; no login.

Exit codes: 0 ok; 1 authentication failed / receive timed out; 2 usage;
3 connection, TLS or other failure (including the hard overall timeout).
Errors go to stderr as one line.
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import socket
import sys
import uuid
import xml.etree.ElementTree as ET

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_ERROR = 0, 1, 2, 3

NS_DELAY = "urn:xmpp:delay"
NS_SID = "urn:xmpp:sid:0"
NS_RECEIPTS = "urn:xmpp:receipts"
NS_PING = "urn:xmpp:ping"


def fail(code, message):
    """Print one line on stderr and leave at once, whatever slixmpp is doing."""
    sys.stdout.flush()
    sys.stderr.write("peer: " + " ".join(str(message).split()) + "\n")
    sys.stderr.flush()
    os._exit(code)


def finish(code=EXIT_OK):
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def emit(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


def env_int(name):
    value = os.environ.get(name)
    return int(value) if value and value.isdigit() else None


class PeerError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def make_client(args):
    try:
        import slixmpp
    except ImportError as exc:
        fail(EXIT_ERROR, f"slixmpp is not installed ({exc}); run scripts/install-deps")

    client = slixmpp.ClientXMPP(args.jid, args.password)
    if args.ca:
        client.ca_certs = args.ca
    if args.direct_tls:
        client.enable_direct_tls = True
        client.enable_starttls = False
    else:
        # slixmpp tries direct TLS first on a custom port unless told not to.
        client.enable_direct_tls = False
        client.enable_starttls = True
    client.enable_plaintext = False
    return client


async def open_session(client, args):
    """Connect and wait for session_start; raise PeerError on any failure."""
    loop = asyncio.get_running_loop()
    outcome = loop.create_future()

    def settle(code, message):
        if not outcome.done():
            outcome.set_result((code, message))

    client.add_event_handler("session_start", lambda _e: settle(EXIT_OK, None))
    client.add_event_handler(
        "failed_all_auth", lambda _e: settle(EXIT_FAIL, "authentication failed"))
    client.add_event_handler(
        "connection_failed", lambda e: settle(EXIT_ERROR, f"connection failed: {e}"))
    client.add_event_handler(
        "ssl_invalid_chain", lambda e: settle(EXIT_ERROR, f"TLS certificate rejected: {e}"))
    client.add_event_handler(
        "stream_error", lambda e: settle(EXIT_ERROR, f"stream error: {e['condition']} {e['text']}"))
    client.add_event_handler(
        "disconnected", lambda e: settle(EXIT_ERROR, f"disconnected before the session started: {e}"))

    host = args.host
    port = args.port
    if args.direct_tls:
        port = args.direct_tls_port or port
    if not port:
        raise PeerError(EXIT_USAGE, "no port: pass --port or set TERN_TEST_PORT")
    client.connect(host=host, port=port)
    try:
        code, message = await asyncio.wait_for(outcome, args.connect_timeout)
    except asyncio.TimeoutError:
        raise PeerError(EXIT_ERROR, f"no session within {args.connect_timeout} s ({host}:{port})")
    if code != EXIT_OK:
        raise PeerError(code, message)


async def close_session(client):
    try:
        await asyncio.wait_for(client.disconnect(wait=2.0), 5)
    except Exception:
        client.abort()


async def ping_server(client, args):
    """An IQ round trip: once it returns, the server has handled all we sent before."""
    from slixmpp.exceptions import IqError
    iq = client.make_iq_get(ito=client.boundjid.domain)
    ET.SubElement(iq.xml, f"{{{NS_PING}}}ping")
    try:
        # Behind a burst of many stanzas the server may need longer than a connect.
        await iq.send(timeout=max(args.connect_timeout, 60.0))
    except IqError:
        pass  # an error reply completes the round trip just as well


def message_json(msg):
    xml = msg.xml
    delay = xml.find(f"{{{NS_DELAY}}}delay")
    origin = xml.find(f"{{{NS_SID}}}origin-id")
    stanza_ids = [
        {"id": el.get("id"), "by": el.get("by")}
        for el in xml.findall(f"{{{NS_SID}}}stanza-id")
    ]
    return {
        "from": str(msg["from"]),
        "body": msg["body"],
        "id": msg["id"] or None,
        "origin_id": origin.get("id") if origin is not None else None,
        "stanza_id": stanza_ids[0]["id"] if stanza_ids else None,
        "delay": delay.get("stamp") if delay is not None else None,
    }


async def cmd_login(client, args):
    await open_session(client, args)
    await close_session(client)
    return EXIT_OK


async def cmd_roster(client, args):
    await open_session(client, args)
    iq = await client.get_roster(timeout=args.connect_timeout)
    items = []
    if iq is not None:
        for jid, item in iq["roster"]["items"].items():
            items.append({
                "jid": str(jid),
                "name": item.get("name") or None,
                "subscription": item.get("subscription") or "none",
                "ask": item.get("ask") or None,
                "groups": sorted(item.get("groups") or []),
            })
    items.sort(key=lambda i: i["jid"])
    emit(items)
    await close_session(client)
    return EXIT_OK


async def cmd_send(client, args):
    await open_session(client, args)
    for n in range(1, args.count + 1):
        msg = client.make_message(mto=args.to, mbody=args.body.replace("{n}", str(n)), mtype=args.type)
        suffix = "" if args.count == 1 else f"-{n}"
        msg["id"] = (args.id + suffix) if args.id else str(uuid.uuid4())
        origin = (args.origin_id + suffix) if args.origin_id else msg["id"]
        ET.SubElement(msg.xml, f"{{{NS_SID}}}origin-id", {"id": origin})
        if args.request_receipt:
            ET.SubElement(msg.xml, f"{{{NS_RECEIPTS}}}request")
        msg.send()
    await ping_server(client, args)
    await close_session(client)
    return EXIT_OK


async def cmd_receive(client, args):
    loop = asyncio.get_running_loop()
    enough = loop.create_future()
    received = 0
    wanted = args.__dict__["from"]

    def on_message(msg):
        nonlocal received
        if msg["type"] not in ("chat", "normal") or not msg["body"]:
            return
        if wanted and msg["from"].bare != wanted.split("/")[0] and str(msg["from"]) != wanted:
            return
        emit(message_json(msg))
        received += 1
        if args.send_receipts and msg["id"] and msg.xml.find(f"{{{NS_RECEIPTS}}}request") is not None:
            reply = client.make_message(mto=msg["from"], mtype=msg["type"])
            ET.SubElement(reply.xml, f"{{{NS_RECEIPTS}}}received", {"id": msg["id"]})
            reply.send()
        if received >= args.count and not enough.done():
            enough.set_result(None)

    client.add_event_handler("message", on_message)
    await open_session(client, args)
    client.send_presence()
    # Presence is routed before we call ourselves ready.
    await ping_server(client, args)
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write("ready\n")
    try:
        await asyncio.wait_for(enough, args.timeout)
    except asyncio.TimeoutError:
        sys.stderr.write(f"peer: timed out after {args.timeout} s with {received} of {args.count} messages\n")
        finish(EXIT_FAIL)
    if args.linger > 0:
        await asyncio.sleep(args.linger)
    if received > args.count:
        sys.stderr.write(f"peer: {received - args.count} extra message(s) after the expected {args.count}\n")
    await close_session(client)
    return EXIT_OK


async def cmd_subscribe_accept(client, args):
    """Accept F's request and ask back; change status once F has accepted ours."""
    loop = asyncio.get_running_loop()
    accepted = loop.create_future()
    wanted = args.__dict__["from"].split("/")[0]
    client.roster.auto_authorize = None
    client.roster.auto_subscribe = False

    def on_subscribe(presence):
        if presence["from"].bare != wanted:
            return
        client.send_presence(pto=wanted, ptype="subscribed")
        client.send_presence(pto=wanted, ptype="subscribe")

    def on_subscribed(presence):
        if presence["from"].bare == wanted and not accepted.done():
            accepted.set_result(None)

    client.add_event_handler("presence_subscribe", on_subscribe)
    client.add_event_handler("presence_subscribed", on_subscribed)
    await open_session(client, args)
    # Prosody routes subscription stanzas only to resources that asked for the roster.
    await client.get_roster(timeout=args.connect_timeout)
    client.send_presence(pstatus=args.status)
    await ping_server(client, args)
    try:
        await asyncio.wait_for(accepted, args.timeout)
    except asyncio.TimeoutError:
        sys.stderr.write(f"peer: {wanted} did not accept within {args.timeout} s\n")
        finish(EXIT_FAIL)
    if args.then_status is not None:
        await asyncio.sleep(1)
        client.send_presence(pstatus=args.then_status, pshow="away")
        await ping_server(client, args)
    emit({"accepted": wanted})
    await asyncio.sleep(args.linger)
    await close_session(client)
    return EXIT_OK


async def cmd_subscribe(client, args):
    await open_session(client, args)
    client.send_presence(pto=args.to.split("/")[0], ptype="subscribe", pstatus=args.status)
    await ping_server(client, args)
    await close_session(client)
    return EXIT_OK


async def cmd_roster_add(client, args):
    await open_session(client, args)
    await client.get_roster(timeout=args.connect_timeout)
    await client.update_roster(args.item, name=args.name or "", groups=args.group or [], timeout=args.connect_timeout)
    await close_session(client)
    return EXIT_OK


async def cmd_roster_push(client, args):
    """A roster set from a third party, addressed straight to the victim's full JID."""
    from slixmpp.exceptions import IqError, IqTimeout
    await open_session(client, args)
    iq = client.make_iq_set(ito=args.to)
    query = ET.SubElement(iq.xml, "{jabber:iq:roster}query")
    attrs = {"jid": args.item, "subscription": "both"}
    if args.name:
        attrs["name"] = args.name
    ET.SubElement(query, "{jabber:iq:roster}item", attrs)
    try:
        reply = await iq.send(timeout=args.connect_timeout)
        emit({"type": reply["type"], "condition": None})
    except IqError as exc:
        emit({"type": "error", "condition": exc.iq["error"]["condition"]})
    except IqTimeout:
        emit({"type": "timeout", "condition": None})
    await close_session(client)
    return EXIT_OK


def cmd_prefeatures(args):
    """Open a plain stream and print the features the server offers before TLS."""
    port = args.port
    if not port:
        raise PeerError(EXIT_USAGE, "no port: pass --port or set TERN_TEST_PORT")
    domain = args.domain or os.environ.get("TERN_TEST_DOMAIN") or "localhost"
    header = (
        "<?xml version='1.0'?>"
        f"<stream:stream to='{domain}' version='1.0' xml:lang='en' "
        "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
    )
    with socket.create_connection((args.host, port), timeout=args.connect_timeout) as sock:
        sock.sendall(header.encode())
        data = b""
        while b"</stream:features>" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        try:
            sock.sendall(b"</stream:stream>")
        except OSError:
            pass
    text = data.decode("utf-8", "replace")
    start = text.find("<stream:features")
    end = text.find("</stream:features>")
    if start < 0 or end < 0:
        raise PeerError(EXIT_ERROR, f"no stream features in reply: {text[:200]!r}")
    sys.stdout.write(text[start:end + len("</stream:features>")] + "\n")
    return EXIT_OK


async def cmd_vcard_set(client, args):
    """Stores our own vcard-temp with FN (XEP-0054), replacing what was there."""
    await open_session(client, args)
    iq = client.make_iq_set()
    vcard = ET.SubElement(iq.xml, "{vcard-temp}vCard")
    ET.SubElement(vcard, "{vcard-temp}FN").text = args.fn
    await iq.send(timeout=args.connect_timeout)
    await close_session(client)
    return EXIT_OK


async def cmd_online(client, args):
    """Stays online answering XEP-0092 with --name/--version; prints {"jid": full JID} once
    ready, optionally after sending one message (so the other side learns our resource)."""
    client.register_plugin("xep_0030")
    client.register_plugin("xep_0092", {"name": args.name, "version": args.version, "os": ""})
    if args.caps:
        client.register_plugin("xep_0115")
    await open_session(client, args)
    client.send_presence()
    if args.presence_to:
        if args.caps:
            await client["xep_0115"].update_caps(broadcast=False)
        # Directed presence (RFC 6121 §4.6) reaches the other side without a subscription.
        client.send_presence(pto=args.presence_to)
    if args.message_to:
        client.make_message(mto=args.message_to, mbody=args.body, mtype="chat").send()
    await ping_server(client, args)
    emit({"jid": str(client.boundjid)})
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write(str(client.boundjid) + "\n")
    await asyncio.sleep(args.timeout)
    await close_session(client)
    return EXIT_OK


def parse_args(argv):
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--host", default=os.environ.get("TERN_TEST_HOST", "127.0.0.1"))
    common.add_argument("--port", type=int, default=env_int("TERN_TEST_PORT"))
    common.add_argument("--direct-tls", action="store_true",
                        help="XEP-0368 direct TLS (port defaults to TERN_TEST_DIRECT_TLS_PORT)")
    common.add_argument("--ca", default=os.environ.get("TERN_TEST_CA"),
                        help="certificate file to trust (the test server's)")
    common.add_argument("--connect-timeout", type=float, default=15.0)
    common.add_argument("--hard-timeout", type=float, default=None,
                        help="kill switch for the whole run (default: generous per command)")
    common.add_argument("--debug", action="store_true", help="slixmpp debug log on stderr")

    account = argparse.ArgumentParser(add_help=False)
    account.add_argument("--jid", required=True)
    account.add_argument("--password", required=True)

    parser = argparse.ArgumentParser(description="slixmpp peer for tern integration tests")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("send", parents=[common, account])
    p.add_argument("--to", required=True)
    p.add_argument("--body", required=True)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--type", default="chat", choices=["chat", "normal"])
    p.add_argument("--id", default=None, help="stanza id (suffixed -N when --count > 1)")
    p.add_argument("--origin-id", default=None, help="XEP-0359 origin-id (default: the stanza id)")
    p.add_argument("--request-receipt", action="store_true")

    p = sub.add_parser("receive", parents=[common, account])
    p.add_argument("--from", default=None, help="only messages from this JID (bare or full)")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--timeout", type=float, required=True)
    p.add_argument("--linger", type=float, default=0.0)
    p.add_argument("--send-receipts", action="store_true")
    p.add_argument("--ready-file", default=None, help="written once online and listening")

    sub.add_parser("roster", parents=[common, account])
    sub.add_parser("login", parents=[common, account])

    p = sub.add_parser("subscribe-accept", parents=[common, account])
    p.add_argument("--from", required=True)
    p.add_argument("--status", default=None)
    p.add_argument("--then-status", default=None)
    p.add_argument("--timeout", type=float, default=40.0)
    p.add_argument("--linger", type=float, default=3.0)

    p = sub.add_parser("subscribe", parents=[common, account])
    p.add_argument("--to", required=True)
    p.add_argument("--status", default=None)

    p = sub.add_parser("roster-add", parents=[common, account])
    p.add_argument("--item", required=True)
    p.add_argument("--name", default=None)
    p.add_argument("--group", action="append", default=[])

    p = sub.add_parser("roster-push", parents=[common, account])
    p.add_argument("--to", required=True, help="the victim's full JID")
    p.add_argument("--item", required=True)
    p.add_argument("--name", default=None)

    p = sub.add_parser("vcard-set", parents=[common, account])
    p.add_argument("--fn", required=True)

    p = sub.add_parser("online", parents=[common, account])
    p.add_argument("--name", required=True, help="software name answered to XEP-0092 queries")
    p.add_argument("--version", required=True)
    p.add_argument("--message-to", default=None)
    p.add_argument("--presence-to", default=None, help="also send directed presence to this JID")
    p.add_argument("--caps", action="store_true", help="advertise XEP-0115 caps on presence")
    p.add_argument("--body", default="hello")
    p.add_argument("--timeout", type=float, default=30.0, help="how long to stay online")
    p.add_argument("--linger", type=float, default=0.0)
    p.add_argument("--ready-file", default=None)

    p = sub.add_parser("prefeatures", parents=[common])
    p.add_argument("--domain", default=None)

    args = parser.parse_args(argv)
    args.direct_tls_port = env_int("TERN_TEST_DIRECT_TLS_PORT")
    if args.command == "send" and args.count < 1:
        parser.error("--count must be at least 1")
    if args.command == "receive" and args.count < 0:
        parser.error("--count must not be negative")
    return args


def main(argv):
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.CRITICAL,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )

    hard = args.hard_timeout
    if hard is None:
        hard = args.connect_timeout * 3 + 10
        if args.command in ("receive", "subscribe-accept", "online"):
            hard += args.timeout + args.linger
    # Last resort against a wedged event loop: SIGALRM ends the process.
    signal.signal(signal.SIGALRM, lambda *_: fail(EXIT_ERROR, f"hard timeout ({hard:.0f} s)"))
    signal.alarm(max(1, int(hard + 0.999)))

    if args.command == "prefeatures":
        try:
            finish(cmd_prefeatures(args))
        except PeerError as exc:
            fail(exc.code, exc)
        except OSError as exc:
            fail(EXIT_ERROR, f"connection failed: {exc}")

    commands = {"send": cmd_send, "receive": cmd_receive, "roster": cmd_roster, "login": cmd_login,
                "subscribe-accept": cmd_subscribe_accept, "subscribe": cmd_subscribe,
                "roster-add": cmd_roster_add, "roster-push": cmd_roster_push,
                "vcard-set": cmd_vcard_set, "online": cmd_online}

    async def run():
        client = make_client(args)
        return await asyncio.wait_for(commands[args.command](client, args), hard)

    try:
        code = asyncio.run(run())
    except PeerError as exc:
        fail(exc.code, exc)
    except asyncio.TimeoutError:
        fail(EXIT_ERROR, f"timed out ({hard:.0f} s)")
    except Exception as exc:  # anything unexpected is still one line
        fail(EXIT_ERROR, f"{type(exc).__name__}: {exc}")
    finish(code)


if __name__ == "__main__":
    main(sys.argv[1:])
