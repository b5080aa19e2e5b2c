#!/usr/bin/env python3
"""A second XMPP client for tern's integration tests, built on slixmpp.

Swift tests run it with Process against the throwaway Prosody from
scripts/testserver. Connection options default to the TERN_TEST_* variables
that scripts/testserver writes to DIR/env.

Subcommands:
  send     --jid J --password P --to T --body B [--count N] [--id ID] [--origin-id ID]
           [--request-receipt] [--poison SHAPE] [--replace ID] [--retract ID]
           --replace makes it a XEP-0308 correction of message ID; --retract a XEP-0424
           retraction of ID (with the XEP-0428 fallback marker and a store hint); body may contain {n} (1-based message
           number); exits once the server has processed every message (a ping round trip).
           --poison adds what a hostile peer may put in a relayed stanza (DESIGN §6):
           attrs (a child with 65 attributes), depth (80 nested levels), text (a 600 KiB
           body), size (1.1 MiB of small children).
  receive  --jid J --password P [--from F] --count N --timeout S [--linger S]
           [--send-receipts] [--ready-file PATH]
           prints each chat message from F as one JSON line
           {"from","body","id","origin_id","stanza_id","delay","replace","retract"}; after the Nth it
           keeps listening --linger seconds and prints any extra (duplicate) ones.
  count    --jid J --password P --count N --timeout S
           online; counts incoming messages and stores nothing (the slixmpp reference of
           Benchmarks/ingest.py); once N arrived prints {"count", "first", "last"}, the
           time.monotonic() of the first and of the Nth.
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
           [--presence-to J] [--caps] [--feature F]... [--timeout S] [--ready-file PATH]
           stays online S seconds answering XEP-0092 with N/V and disco#info with F too
           (with --caps, hashed into the XEP-0115 ver as slixmpp computes it); prints
           {"jid": our full JID} once ready.
  flood    --to FULLJID --accounts N [--resources R] [--subscribe] [--presence]
           [--prefix P] [--password PW] [--timeout S] [--until-file PATH]
           registers N fresh accounts in-band (XEP-0077); each asks FULLJID's bare JID to
           subscribe and/or sends FULLJID directed presence; the first account does so from
           R resources. Prints {"ready": N, "first": its bare JID} once the server has routed
           it all; leaves (the server then says unavailable) once PATH exists or after S s.
  prefeatures [--domain D]               prints the stream features offered
           before TLS (raw XML) on a plain TCP connection; no login.
  room     --jid J --password P --room ROOM --nick N [--history N] [--change-nick NEW]
           [--subject S] [--post BODY [--count N]] [--invite JID [--mediated] [--reason R]]
           [--ready-file PATH] [--expect N --from-nick NICK] [--timeout S] [--linger S]
           [--until-file PATH]
           [--room-password PW] [--members-only]
           joins ROOM (XEP-0045; a room we create is configured with the password or
           members-only given, else as an instant room, and so unlocked), then in
           this order: changes nick, sets the subject, posts N groupchat messages (body may
           contain {n}; origin-id = id), invites JID (XEP-0249 direct, or XEP-0045 mediated),
           writes the ready file, waits for N groupchat messages from NICK (delayed history
           counts too), stays --linger seconds, then until PATH exists; leaves cleanly.
           Prints JSON lines: {"event":"joined","nick","created"} once our self-presence
           (110) arrives; {"event":"presence","nick","type","role","affiliation","codes",
           "new_nick","jid","destroy"} for every occupant change; {"event":"subject","nick",
           "subject"}; {"event":"message","nick","body","id","origin_id","stanza_id","delay"}
           for every groupchat message; {"event":"private","nick","body","origin_id"} for
           private messages from occupants; {"event":"error","id","condition"} for bounced ones.
           --timeout bounds everything up to the end of the expect / until-file waits.
           If the room removes us (kick, destroy) the waits end: exit 0 if the expected
           messages had arrived, else 1.

Exit codes: 0 ok; 1 authentication failed / receive or room wait timed out; 2 usage;
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
import time
import uuid
import xml.etree.ElementTree as ET

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_ERROR = 0, 1, 2, 3

NS_DELAY = "urn:xmpp:delay"
NS_SID = "urn:xmpp:sid:0"
NS_RECEIPTS = "urn:xmpp:receipts"
NS_PING = "urn:xmpp:ping"
NS_MUC = "http://jabber.org/protocol/muc"
NS_MUC_USER = "http://jabber.org/protocol/muc#user"
NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner"
NS_DATA = "jabber:x:data"
NS_CONFERENCE = "jabber:x:conference"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_CORRECT = "urn:xmpp:message-correct:0"
NS_RETRACT = "urn:xmpp:message-retract:1"
NS_FALLBACK = "urn:xmpp:fallback:0"
NS_HINTS = "urn:xmpp:hints"


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


def make_client(args, jid=None, password=None):
    try:
        import slixmpp
    except ImportError as exc:
        fail(EXIT_ERROR, f"slixmpp is not installed ({exc}); run scripts/install-deps")

    client = slixmpp.ClientXMPP(jid or args.jid, password or args.password)
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


async def ping_server(client, args, to=None):
    """An IQ round trip: once it returns, the server (or `to`) has handled all we sent before."""
    from slixmpp.exceptions import IqError
    iq = client.make_iq_get(ito=to or client.boundjid.domain)
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
    replace = xml.find(f"{{{NS_CORRECT}}}replace")
    retract = xml.find(f"{{{NS_RETRACT}}}retract")
    return {
        "replace": replace.get("id") if replace is not None else None,
        "retract": retract.get("id") if retract is not None else None,
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


def add_edit(msg, replace, retract):
    """Makes msg a correction (XEP-0308) of the message with id `replace`, or a retraction
    (XEP-0424, with its fallback marker and store hint) of the one with id `retract`."""
    if replace:
        ET.SubElement(msg.xml, f"{{{NS_CORRECT}}}replace", {"id": replace})
    if retract:
        ET.SubElement(msg.xml, f"{{{NS_RETRACT}}}retract", {"id": retract})
        ET.SubElement(msg.xml, f"{{{NS_FALLBACK}}}fallback", {"for": NS_RETRACT})
        ET.SubElement(msg.xml, f"{{{NS_HINTS}}}store")


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
        if args.poison:
            add_poison(msg, args.poison)
        add_edit(msg, args.replace, args.retract)
        if args.oob:
            oob = ET.SubElement(msg.xml, "{jabber:x:oob}x")
            ET.SubElement(oob, "{jabber:x:oob}url").text = args.oob
        msg.send()
    await ping_server(client, args)
    await close_session(client)
    return EXIT_OK


NS_POISON = "urn:example:poison"


def add_poison(msg, shape):
    """Makes msg cross one of tern's per-stanza limits (64 attributes, 64 levels,
    512 KiB of text, 1 MiB in all) while staying under the test server's."""
    if shape == "attrs":
        ET.SubElement(msg.xml, f"{{{NS_POISON}}}x", {f"a{i}": "" for i in range(65)})
    elif shape == "depth":
        node = msg.xml
        for _ in range(80):
            node = ET.SubElement(node, f"{{{NS_POISON}}}a")
    elif shape == "text":
        msg["body"] = "p" * (600 * 1024)
    elif shape == "size":
        filler = "f" * 80
        for i in range(11000):
            ET.SubElement(msg.xml, f"{{{NS_POISON}}}x", {"n": str(i), "v": filler})
    else:
        raise PeerError(EXIT_USAGE, f"unknown poison shape {shape}")


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


async def cmd_count(client, args):
    loop = asyncio.get_running_loop()
    enough = loop.create_future()
    received = 0
    first = None

    def on_message(_msg):
        nonlocal received, first
        received += 1
        if received == 1:
            first = time.monotonic()
        if received == args.count and not enough.done():
            enough.set_result(time.monotonic())

    client.add_event_handler("message", on_message)
    await open_session(client, args)
    client.send_presence()
    try:
        last = await asyncio.wait_for(enough, args.timeout)
    except asyncio.TimeoutError:
        fail(EXIT_FAIL, f"timed out after {args.timeout} s with {received} of {args.count} messages")
    emit({"count": received, "first": first, "last": last})
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


async def cmd_upload(client, args):
    """Uploads --file with slixmpp's own XEP-0363 (its discovery, slot and aiohttp PUT);
    prints {"url": GET URL}. aiohttp trusts --ca through SSL_CERT_FILE."""
    client.register_plugin("xep_0030")
    client.register_plugin("xep_0363")
    await open_session(client, args)
    with open(args.file, "rb") as data:
        url = await client.plugin["xep_0363"].upload_file(
            os.path.basename(args.file), size=os.path.getsize(args.file), input_file=data,
            timeout=args.connect_timeout)
    emit({"url": url})
    await close_session(client)
    return EXIT_OK


async def cmd_chat_state(client, args):
    """Sends one standalone XEP-0085 state (no body) to --to."""
    await open_session(client, args)
    msg = client.make_message(mto=args.to, mtype="chat")
    ET.SubElement(msg.xml, f"{{http://jabber.org/protocol/chatstates}}{args.state}")
    msg.send()
    await ping_server(client, args)
    await close_session(client)
    return EXIT_OK


def cmd_download(args):
    """GETs --url into --out with Python's own TLS, trusting --ca: an independent reader."""
    import ssl
    import urllib.request
    context = ssl.create_default_context(cafile=args.ca)
    with urllib.request.urlopen(args.url, context=context, timeout=args.connect_timeout) as response, \
            open(args.out, "wb") as out:
        out.write(response.read())
    emit({"bytes": os.path.getsize(args.out)})
    return EXIT_OK


async def cmd_online(client, args):
    """Stays online answering XEP-0092 with --name/--version; prints {"jid": full JID} once
    ready, optionally after sending one message (so the other side learns our resource)."""
    client.register_plugin("xep_0030")
    client.register_plugin("xep_0092", {"name": args.name, "version": args.version, "os": ""})
    if args.caps:
        client.register_plugin("xep_0115")
    await open_session(client, args)
    # After binding: slixmpp keeps disco#info per JID, and ours is the full JID now.
    for feature in args.feature:
        client.plugin["xep_0030"].add_feature(feature)
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


async def flood_session(args, jid, register):
    """One stranger's session: registered in-band first (XEP-0077) when asked, then online."""
    client = make_client(args, jid, args.password)
    if register:
        client.register_plugin("xep_0077")
        client.plugin["xep_0077"].force_registration = True

        async def on_register(_form):
            iq = client.Iq()
            iq["type"] = "set"
            iq["register"]["username"] = client.boundjid.user
            iq["register"]["password"] = args.password
            await iq.send(timeout=args.connect_timeout)

        client.add_event_handler("register", on_register)
    await open_session(client, args)
    return client


async def cmd_flood(_unused, args):
    """Strangers: N fresh accounts, each asking to subscribe and/or sending directed presence."""
    prefix = f"{args.prefix}{uuid.uuid4().hex[:8]}-"
    domain = args.domain or os.environ.get("TERN_TEST_DOMAIN") or "localhost"
    jids = [f"{prefix}{n}@{domain}/r0" for n in range(1, args.accounts + 1)]
    gate = asyncio.Semaphore(10)  # logins at a time: the server stays responsive for others

    async def one(jid, register):
        async with gate:
            client = await flood_session(args, jid, register)
            if args.subscribe and jid.endswith("/r0"):
                client.send_presence(pto=args.to.split("/")[0], ptype="subscribe", pstatus="let me in")
            if args.presence:
                client.send_presence(pto=args.to)
            await ping_server(client, args)
            return client

    # The first account and all its resources first, so its own cap is met before the total one.
    first = jids[0].split("/")[0]
    clients = [await one(jids[0], True)]
    clients += await asyncio.gather(*(one(f"{first}/r{n}", False) for n in range(1, args.resources)))
    clients += await asyncio.gather(*(one(jid, True) for jid in jids[1:]))
    emit({"ready": args.accounts, "first": first})
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.timeout
    while args.until_file and not os.path.exists(args.until_file) and loop.time() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.gather(*(close_session(client) for client in clients))
    return EXIT_OK


def error_condition(stanza_xml):
    error = stanza_xml.find("{jabber:client}error")
    if error is None:
        return None
    for child in error:
        if child.tag.startswith(f"{{{NS_STANZAS}}}") and not child.tag.endswith("}text"):
            return child.tag.split("}", 1)[1]
    return None


def muc_presence_json(pres):
    """One occupant change (XEP-0045 §7.2, §7.6, §9.2, §10.9) as a JSON object."""
    x = pres.xml.find(f"{{{NS_MUC_USER}}}x")
    item = x.find(f"{{{NS_MUC_USER}}}item") if x is not None else None
    codes = sorted(int(s.get("code")) for s in x.findall(f"{{{NS_MUC_USER}}}status")
                   if (s.get("code") or "").isdigit()) if x is not None else []
    destroy = x.find(f"{{{NS_MUC_USER}}}destroy") if x is not None else None
    destroy_json = None
    if destroy is not None:
        reason = destroy.find(f"{{{NS_MUC_USER}}}reason")
        destroy_json = {"jid": destroy.get("jid"), "reason": reason.text if reason is not None else None}
    return {
        "event": "presence",
        "nick": pres["from"].resource,
        "type": "unavailable" if pres["type"] == "unavailable" else "available",
        "role": item.get("role") if item is not None else None,
        "affiliation": item.get("affiliation") if item is not None else None,
        "jid": item.get("jid") if item is not None else None,
        "codes": codes,
        "new_nick": item.get("nick") if item is not None and 303 in codes else None,
        "destroy": destroy_json,
    }


def muc_message_json(msg, room):
    xml = msg.xml
    delay = xml.find(f"{{{NS_DELAY}}}delay")
    origin = xml.find(f"{{{NS_SID}}}origin-id")
    # The room's own stanza-id (XEP-0359 §3) is the one to use for MAM.
    stanza_id = None
    for el in xml.findall(f"{{{NS_SID}}}stanza-id"):
        if el.get("by") == room or stanza_id is None:
            stanza_id = el.get("id")
    return {
        "event": "message",
        "nick": msg["from"].resource or None,
        "body": msg["body"],
        "id": msg["id"] or None,
        "origin_id": origin.get("id") if origin is not None else None,
        "stanza_id": stanza_id,
        "delay": delay.get("stamp") if delay is not None else None,
    }


async def cmd_room(client, args):
    """Joins a room (XEP-0045 §7.2), does the optional steps, leaves (§7.14)."""
    from slixmpp import JID
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.timeout
    room = JID(args.room).bare
    nick = args.nick
    joined = loop.create_future()       # -> (codes) or PeerError
    nick_changed = None                 # future while a nick change is pending
    left = loop.create_future()         # our own unavailable presence
    enough = loop.create_future()
    removed = loop.create_future()      # the room threw us out (kick, ban, destroy)
    received = 0
    leaving = False

    def remaining():
        return max(0.0, deadline - loop.time())

    def on_presence(pres):
        nonlocal nick
        if pres["from"].bare != room:
            return
        if pres["type"] == "error":
            condition = error_condition(pres.xml)
            if not joined.done():
                joined.set_exception(PeerError(EXIT_ERROR, f"joining {room} as {nick} failed: {condition}"))
            elif nick_changed is not None and not nick_changed.done():
                nick_changed.set_exception(PeerError(EXIT_ERROR, f"nick change failed: {condition}"))
            else:
                emit({"event": "error", "id": pres["id"] or None, "condition": condition})
                if leaving and not left.done():
                    left.set_result(None)  # the room is gone already
            return
        if pres.xml.find(f"{{{NS_MUC_USER}}}x") is None:
            return
        event = muc_presence_json(pres)
        emit(event)
        codes = event["codes"]
        mine = 110 in codes or pres["from"].resource == nick
        if not mine:
            return
        if event["type"] == "available":
            if not joined.done():
                nick = pres["from"].resource
                joined.set_result(codes)
            elif nick_changed is not None and not nick_changed.done() and pres["from"].resource == args.change_nick:
                nick = args.change_nick
                nick_changed.set_result(None)
        elif 303 in codes:
            pass  # our nick change: the available presence under the new nick follows
        elif not left.done() and not removed.done():
            if leaving:
                left.set_result(None)
            else:
                removed.set_result(codes)

    def on_message(msg):
        nonlocal received
        if msg["from"].bare != room:
            return
        if msg["type"] == "error":
            emit({"event": "error", "id": msg["id"] or None, "condition": error_condition(msg.xml)})
            return
        if msg["type"] in ("chat", "normal") and msg["body"] and msg["from"].resource:
            # A private message from an occupant (XEP-0045 §7.5).
            origin = msg.xml.find(f"{{{NS_SID}}}origin-id")
            emit({"event": "private", "nick": msg["from"].resource, "body": msg["body"],
                  "origin_id": origin.get("id") if origin is not None else None})
            return
        if msg["type"] != "groupchat":
            return
        subject = msg.xml.find("{jabber:client}subject")
        if subject is not None and not msg["body"]:
            emit({"event": "subject", "nick": msg["from"].resource or None, "subject": subject.text or ""})
            return
        if not msg["body"]:
            return
        emit(muc_message_json(msg, room))
        if args.expect and msg["from"].resource == args.from_nick:
            received += 1
            if received >= args.expect and not enough.done():
                enough.set_result(None)

    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath
    client.add_event_handler("presence", on_presence)
    # slixmpp's "message" event skips messages without a body, such as subject changes.
    client.register_handler(Callback("room messages", MatchXPath("{jabber:client}message"), on_message))
    await open_session(client, args)
    client.send_presence()

    join = client.make_presence(pto=f"{room}/{nick}")
    x = ET.SubElement(join.xml, f"{{{NS_MUC}}}x")
    if args.history is not None:
        ET.SubElement(x, f"{{{NS_MUC}}}history", {"maxstanzas": str(args.history)})
    join.send()
    try:
        codes = await asyncio.wait_for(joined, min(args.connect_timeout, remaining()) or 0.001)
    except asyncio.TimeoutError:
        raise PeerError(EXIT_ERROR, f"no self-presence from {room} within {args.connect_timeout} s")
    created = 201 in codes
    if created:
        # A new room stays locked to others until its owner configures it (§10.1.2).
        iq = client.make_iq_set(ito=room)
        query = ET.SubElement(iq.xml, f"{{{NS_MUC_OWNER}}}query")
        form = ET.SubElement(query, f"{{{NS_DATA}}}x", {"type": "submit"})
        config = {}
        if args.room_password:
            config["muc#roomconfig_passwordprotectedroom"] = "1"
            config["muc#roomconfig_roomsecret"] = args.room_password
        if args.members_only:
            config["muc#roomconfig_membersonly"] = "1"
        if config:
            config = {"FORM_TYPE": "http://jabber.org/protocol/muc#roomconfig", **config}
        for var, value in config.items():
            field = ET.SubElement(form, f"{{{NS_DATA}}}field", {"var": var})
            ET.SubElement(field, f"{{{NS_DATA}}}value").text = value
        await iq.send(timeout=args.connect_timeout)
    emit({"event": "joined", "nick": nick, "created": created})

    if args.change_nick and args.change_nick != nick:
        nick_changed = loop.create_future()
        client.make_presence(pto=f"{room}/{args.change_nick}").send()
        try:
            await asyncio.wait_for(nick_changed, min(args.connect_timeout, remaining()) or 0.001)
        except asyncio.TimeoutError:
            raise PeerError(EXIT_ERROR, f"nick change to {args.change_nick} not confirmed")

    if args.subject is not None:
        msg = client.make_message(mto=room, mtype="groupchat")
        ET.SubElement(msg.xml, "{jabber:client}subject").text = args.subject
        msg.send()

    if args.post is not None:
        for n in range(1, args.count + 1):
            msg = client.make_message(mto=room, mbody=args.post.replace("{n}", str(n)), mtype="groupchat")
            suffix = "" if args.count == 1 else f"-{n}"
            msg["id"] = (args.post_id + suffix) if args.post_id else str(uuid.uuid4())
            ET.SubElement(msg.xml, f"{{{NS_SID}}}origin-id", {"id": msg["id"]})
            add_edit(msg, args.replace, args.retract)
            msg.send()

    if args.invite:
        if args.mediated:
            msg = client.make_message(mto=room)
            x = ET.SubElement(msg.xml, f"{{{NS_MUC_USER}}}x")
            invite = ET.SubElement(x, f"{{{NS_MUC_USER}}}invite", {"to": args.invite})
            if args.reason is not None:
                ET.SubElement(invite, f"{{{NS_MUC_USER}}}reason").text = args.reason
        else:
            msg = client.make_message(mto=args.invite)
            attrs = {"jid": room}
            if args.reason is not None:
                attrs["reason"] = args.reason
            ET.SubElement(msg.xml, f"{{{NS_CONFERENCE}}}x", attrs)
        msg.send()

    # Once the server answers a ping, it has read all of the above. ejabberd runs each room in
    # a process of its own, so ask the room as well: its answer (an error will do) comes once it
    # has handled, and archived, what we sent it.
    await ping_server(client, args)
    await ping_server(client, args, to=room)
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write(f"{room}/{nick}\n")

    def wait_or_removed(fut):
        return asyncio.wait({fut, removed}, timeout=remaining(), return_when=asyncio.FIRST_COMPLETED)

    def done_when_removed():
        if not removed.done():
            return False
        if args.expect and not enough.done():
            sys.stderr.write(f"peer: removed from {room} with {received} of {args.expect} messages\n")
            finish(EXIT_FAIL)
        finish(EXIT_OK)

    if args.expect:
        await wait_or_removed(enough)
        done_when_removed()
        if not enough.done():
            sys.stderr.write(f"peer: timed out after {args.timeout} s with {received} of {args.expect} "
                             f"messages from {args.from_nick}\n")
            finish(EXIT_FAIL)

    if args.linger > 0:
        await asyncio.wait({removed}, timeout=args.linger)
        done_when_removed()

    if args.until_file:
        while not os.path.exists(args.until_file):
            if loop.time() >= deadline:
                sys.stderr.write(f"peer: {args.until_file} did not appear within {args.timeout} s\n")
                finish(EXIT_FAIL)
            await asyncio.wait({removed}, timeout=0.1)
            done_when_removed()

    if args.expect and received > args.expect:
        sys.stderr.write(f"peer: {received - args.expect} extra message(s) after the expected {args.expect}\n")
    leaving = True
    client.make_presence(pto=f"{room}/{nick}", ptype="unavailable").send()
    try:
        await asyncio.wait_for(left, 5)
    except asyncio.TimeoutError:
        pass  # leaving is best effort: closing the stream takes us out anyway
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
    p.add_argument("--poison", default=None, choices=["attrs", "depth", "text", "size"])
    p.add_argument("--replace", default=None, help="XEP-0308: correct the message with this id")
    p.add_argument("--retract", default=None, help="XEP-0424: retract the message with this origin-id")
    p.add_argument("--oob", default=None, help="XEP-0066: offer this URL as a file")

    p = sub.add_parser("receive", parents=[common, account])
    p.add_argument("--from", default=None, help="only messages from this JID (bare or full)")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--timeout", type=float, required=True)
    p.add_argument("--linger", type=float, default=0.0)
    p.add_argument("--send-receipts", action="store_true")
    p.add_argument("--ready-file", default=None, help="written once online and listening")

    p = sub.add_parser("count", parents=[common, account])
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--timeout", type=float, required=True)

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
    p.add_argument("--feature", action="append", default=[], help="also list this disco#info feature (any text)")
    p.add_argument("--body", default="hello")
    p.add_argument("--timeout", type=float, default=30.0, help="how long to stay online")
    p.add_argument("--linger", type=float, default=0.0)
    p.add_argument("--ready-file", default=None)

    p = sub.add_parser("room", parents=[common, account])
    p.add_argument("--room", required=True, help="room@service")
    p.add_argument("--nick", required=True)
    p.add_argument("--history", type=int, default=None,
                   help="ask for at most N history messages on join (default: the room's)")
    p.add_argument("--change-nick", default=None, help="change to this nick once joined")
    p.add_argument("--room-password", default=None, help="a room we create needs this password")
    p.add_argument("--members-only", action="store_true", help="a room we create admits members only")
    p.add_argument("--subject", default=None)
    p.add_argument("--post", default=None, help="groupchat body; {n} is the 1-based number")
    p.add_argument("--count", type=int, default=1, help="how many --post messages")
    p.add_argument("--post-id", default=None, help="stanza id and origin-id of --post (suffixed -N when --count > 1)")
    p.add_argument("--replace", default=None, help="--post corrects the message with this id (XEP-0308)")
    p.add_argument("--retract", default=None, help="--post retracts the message with this stanza-id (XEP-0424)")
    p.add_argument("--invite", default=None, help="JID to invite (XEP-0249 direct by default)")
    p.add_argument("--mediated", action="store_true", help="invite through the room (XEP-0045 §7.8.2)")
    p.add_argument("--reason", default=None, help="invitation reason")
    p.add_argument("--expect", type=int, default=0, help="wait for N groupchat messages from --from-nick")
    p.add_argument("--from-nick", default=None)
    p.add_argument("--timeout", type=float, default=60.0, help="bound on everything up to the waits' end")
    p.add_argument("--linger", type=float, default=0.0, help="stay this long after the last step")
    p.add_argument("--until-file", default=None, help="then stay until this file exists")
    p.add_argument("--ready-file", default=None, help="written once joined and the steps are done")

    p = sub.add_parser("upload", parents=[common, account])
    p.add_argument("--file", required=True)

    p = sub.add_parser("chat-state", parents=[common, account])
    p.add_argument("--to", required=True)
    p.add_argument("--state", required=True, choices=["active", "composing", "paused", "inactive", "gone"])

    p = sub.add_parser("download", parents=[common])
    p.add_argument("--url", required=True)
    p.add_argument("--out", required=True)

    p = sub.add_parser("flood", parents=[common])
    p.add_argument("--password", default="pw-flood", help="of every account it registers")
    p.add_argument("--prefix", default="stranger", help="account names: PREFIX + random + -N")
    p.add_argument("--domain", default=None)
    p.add_argument("--accounts", type=int, required=True)
    p.add_argument("--resources", type=int, default=1, help="sessions of the first account")
    p.add_argument("--to", required=True, help="the target's full JID (directed presence)")
    p.add_argument("--subscribe", action="store_true")
    p.add_argument("--presence", action="store_true")
    p.add_argument("--timeout", type=float, default=60.0, help="how long to stay online at most")
    p.add_argument("--until-file", default=None, help="leave once this file exists")

    p = sub.add_parser("prefeatures", parents=[common])
    p.add_argument("--domain", default=None)

    args = parser.parse_args(argv)
    args.direct_tls_port = env_int("TERN_TEST_DIRECT_TLS_PORT")
    if args.command == "send" and args.count < 1:
        parser.error("--count must be at least 1")
    if args.command == "count" and args.count < 1:
        parser.error("--count must be at least 1")
    if args.command == "receive" and args.count < 0:
        parser.error("--count must not be negative")
    if args.command == "room":
        if args.count < 1:
            parser.error("--count must be at least 1")
        if args.expect < 0:
            parser.error("--expect must not be negative")
        if args.expect and not args.from_nick:
            parser.error("--expect needs --from-nick")
        if "/" in args.room or "@" not in args.room:
            parser.error("--room must be a bare room JID (room@service)")
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
        if args.command in ("receive", "count", "subscribe-accept", "online", "room"):
            hard += args.timeout + getattr(args, "linger", 0.0)
        if args.command == "flood":
            hard += args.timeout + args.connect_timeout * (args.accounts + args.resources) / 10
    # Last resort against a wedged event loop: SIGALRM ends the process.
    signal.signal(signal.SIGALRM, lambda *_: fail(EXIT_ERROR, f"hard timeout ({hard:.0f} s)"))
    signal.alarm(max(1, int(hard + 0.999)))

    if args.ca:
        os.environ["SSL_CERT_FILE"] = args.ca  # aiohttp's default context (XEP-0363 uploads)
    if args.command in ("prefeatures", "download"):
        try:
            finish(cmd_prefeatures(args) if args.command == "prefeatures" else cmd_download(args))
        except PeerError as exc:
            fail(exc.code, exc)
        except OSError as exc:
            fail(EXIT_ERROR, f"connection failed: {exc}")

    commands = {"send": cmd_send, "receive": cmd_receive, "count": cmd_count, "roster": cmd_roster, "login": cmd_login,
                "subscribe-accept": cmd_subscribe_accept, "subscribe": cmd_subscribe,
                "roster-add": cmd_roster_add, "roster-push": cmd_roster_push,
                "vcard-set": cmd_vcard_set, "online": cmd_online, "room": cmd_room, "flood": cmd_flood,
                "upload": cmd_upload, "chat-state": cmd_chat_state}

    async def run():
        client = None if args.command == "flood" else make_client(args)
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
