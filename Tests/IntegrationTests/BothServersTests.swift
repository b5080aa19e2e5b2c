import Foundation
import Store
import Sync
import Testing
import XMPP

/// Issue 11 §4: the everyday scenarios, each run against the project's Prosody 0.12 and against
/// ejabberd 23.01 (Debian 12's), with the slixmpp peer as the other side. Every account but
/// the seeded alice/bob/carol is registered fresh (XEP-0077), so runs and servers never collide.
@Suite struct BothServersTests {
    // MARK: - Login

    /// A client port, and what tern must negotiate there.
    struct Listener: Sendable, CustomTestStringConvertible {
        let kind: ServerKind
        let tls12: Bool
        let expected: String

        var testDescription: String { "\(kind.rawValue)\(tls12 ? " TLS 1.2" : "")" }

        static let all = [
            // Prosody with Debian's LuaSec offers no -PLUS mechanism.
            Listener(kind: .prosody, tls12: false, expected: "(SCRAM-SHA-1) over TLS 1.3"),
            // ejabberd offers SCRAM-SHA-1-PLUS without XEP-0440: on TLS 1.3 tern must not bind
            // (ejabberd 23.01 would check tls-unique there and refuse anything else)...
            Listener(kind: .ejabberd, tls12: false, expected: "(SCRAM-SHA-1) over TLS 1.3"),
            // ...and on TLS 1.2 it binds with tls-unique.
            Listener(kind: .ejabberd, tls12: true, expected: "(SCRAM-SHA-1-PLUS) over TLS 1.2, channel binding tls-unique"),
        ]
    }

    @Test(arguments: Listener.all)
    func login__negotiates_the_strongest_mechanism_the_connection_allows(listener: Listener) async throws {
        let server = try listener.kind.server()
        let port = listener.tls12 ? try #require(server.tls12Port) : server.port
        let home = TernHome(server)
        let logStart = server.logFile.map(logLength) ?? 0
        let login = try await home.run(
            ["login", server.jid("carol"), "--server", "\(server.host):\(port)", "--ca-file", server.caFile],
            environment: ["TERN_PASSWORD": server.password("carol")])
        #expect(login.status == 0, "\(login.stderr)")
        #expect(login.stdout.contains(listener.expected), "\(login.stdout)")
        if let log = server.logFile {
            // The server's own word for it (its log handler writes with a delay of up to a few seconds).
            let line = "Accepted c2s \(listener.tls12 ? "SCRAM-SHA-1-PLUS" : "SCRAM-SHA-1") authentication for \(server.jid("carol"))"
            try await waitFor("the server to log '\(line)'", timeout: .seconds(10)) {
                let data = FileManager.default.contents(atPath: log) ?? Data()
                return String(decoding: data.dropFirst(logStart), as: UTF8.self).contains(line)
            }
        }
        // The stored keys log in again the same way.
        let sync = try await home.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
    }

    // MARK: - Account lifecycle

    /// Both servers answer the removal and then end the stream: Prosody with `not-authorized`
    /// ("Account deleted"), ejabberd with `conflict` ("User removed"), its result coming from our own
    /// full JID (which a client that wants it from the server, as slixmpp does, never matches).
    @Test(arguments: ServerKind.allCases)
    func register_then_unregister__the_account_exists_then_is_gone(kind: ServerKind) async throws {
        let server = try kind.server()
        let (home, user) = try await server.registeredHome("reg")
        #expect(try await Peer(server: server, user: user).login() == 0, "another client can log in")

        let result = try await home.run(["unregister", "--yes"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("deleted \(server.jid(user)) from the server"), "\(result.stdout)")
        #expect(try await Peer(server: server, user: user).login() == 1, "the account is gone")
        let sync = try await home.run(["sync"])
        #expect(sync.status == 1)
        #expect(sync.stderr.contains("deleted"), "\(sync.stderr)")
    }

    // MARK: - Roster and presence

    @Test(arguments: ServerKind.allCases)
    func seeded_contacts__alice_sees_bob_in_her_roster_and_his_presence(kind: ServerKind) async throws {
        let server = try kind.server()
        let home = TernHome(server)
        try await home.login("alice")
        let owner = try await home.startOwner()
        defer { owner.interrupt() }
        // "online" is reported before the roster is fetched: wait for it to reach the Store.
        var seeded: [String: Any]?
        try await eventually("bob in the roster") {
            seeded = try await home.roster().first { $0["jid"] as? String == server.jid("bob") }
            return seeded != nil
        }
        let bob = try #require(seeded)
        #expect(bob["subscription"] as? String == "both")
        #expect(bob["name"] as? String == "Bob")

        let online = try Peer(server: server, user: "bob").start("online", ["--name", "Bob's", "--version", "1", "--timeout", "20"])
        defer { online.interrupt() }
        try await eventually("bob's presence") {
            let item = try await home.roster().first { $0["jid"] as? String == server.jid("bob") }
            return (item?["presence"] as? [[String: Any]])?.isEmpty == false
        }
    }

    @Test(arguments: ServerKind.allCases)
    func subscription__round_trip__both_see_each_other(kind: ServerKind) async throws {
        let server = try kind.server()
        let (home, me) = try await server.registeredHome("sub")
        let other = try await server.registerFresh("pal")
        let owner = try await home.startOwner()
        defer { owner.interrupt() }
        let accepter = try Peer(server: server, user: other).start("subscribe-accept", [
            "--from", server.jid(me), "--status", "at lunch", "--then-status", "back at my desk", "--linger", "4",
        ])
        try await Task.sleep(for: .seconds(2))  // the peer is online before we ask

        #expect(try await home.run(["add", server.jid(other)]).status == 0)
        try await eventually("the peer's request") { owner.output().stdout.contains("\"event\":\"subscription-request\"") }
        #expect(try await home.run(["accept", server.jid(other)]).status == 0)
        try await eventually("both, with the peer's changed status") {
            guard let item = try await home.roster().first(where: { $0["jid"] as? String == server.jid(other) }) else { return false }
            let presence = item["presence"] as? [[String: Any]] ?? []
            return item["subscription"] as? String == "both" && presence.first?["status"] as? String == "back at my desk"
        }
        let peerDone = try await accepter.finish(timeout: .seconds(60))
        #expect(peerDone.status == 0, "the peer saw our acceptance: \(peerDone.stderr)")
    }

    // MARK: - Messages

    @Test(arguments: ServerKind.allCases)
    func chat__both_ways_with_the_slixmpp_peer__exactly_once(kind: ServerKind) async throws {
        let server = try kind.server()
        let (home, me) = try await server.registeredHome("chat")
        let other = try await server.registerFresh("pal")

        let receiver = try await Peer(server: server, user: other).startReceivingWhenReady(from: server.jid(me), count: 1)
        let send = try await home.run(["send", server.jid(other), "from tern ✓"])
        #expect(send.stdout.hasSuffix("acked\n"), "the server confirmed it (XEP-0198): \(send.stdout) \(send.stderr)")
        let got = try await receiver.finish(timeout: .seconds(60))
        #expect(Peer.messages(got).map { $0["body"] as? String } == ["from tern ✓"], "\(got.stderr)")

        try await Peer(server: server, user: other).send(to: server.jid(me), body: "from slixmpp <&>")
        #expect(try await home.run(["sync"]).status == 0)
        let history = try await home.historyJSON(with: other)
        #expect(history.map { $0["body"] as? String } == ["from tern ✓", "from slixmpp <&>"])
        #expect(history.map { $0["direction"] as? String } == ["out", "in"])
    }

    @Test(arguments: ServerKind.allCases)
    func archive__messages_another_client_took_live__reach_a_fresh_tern_once_in_order(kind: ServerKind) async throws {
        let server = try kind.server()
        let me = try await server.registerFresh("mam")
        let other = try await server.registerFresh("pal")
        // A slixmpp client of ours takes them live, so the server keeps them only in the archive.
        let live = try await Peer(server: server, user: me).startReceivingWhenReady(from: server.jid(other), count: 20)
        try await Peer(server: server, user: other).send(to: server.jid(me), body: "archived {n}", count: 20)
        #expect(Peer.messages(try await live.finish(timeout: .seconds(60))).count == 20)

        let home = TernHome(server)
        try await home.login(me)
        #expect(try await home.run(["sync"]).status == 0)
        #expect(try await home.run(["sync"]).status == 0)
        let history = try await home.historyJSON(with: other)
        #expect(history.map { $0["body"] as? String } == (1...20).map { "archived \($0)" })
        #expect(history.allSatisfy { ($0["stanza_id"] as? String)?.isEmpty == false }, "archive ids are kept")
    }

    @Test(arguments: ServerKind.allCases)
    func carbons__a_message_from_our_other_client_is_stored_as_outgoing(kind: ServerKind) async throws {
        let server = try kind.server()
        let me = try await server.registerFresh("cc")
        let other = try await server.registerFresh("pal")
        let (store, account, engine, running) = try await server.runningEngine(me, resource: "tern.carbons")
        defer { running.cancel() }
        try await waitUntilSessionStarted(store, account)

        try await Peer(server: server, user: me).send(to: server.jid(other), body: "written on my phone")
        try await waitFor("the sent carbon") {
            ((try? store.history(accountID: account.rowID, conversation: server.jid(other))) ?? []).isEmpty == false
        }
        let rows = try store.history(accountID: account.rowID, conversation: server.jid(other))
        #expect(rows.map(\.message.body) == ["written on my phone"])
        #expect(rows.first?.message.direction == .outgoing)
        await engine.stop()
    }

    @Test(arguments: ServerKind.allCases)
    func blocking__a_blocked_peer_does_not_get_through__an_unblocked_one_does(kind: ServerKind) async throws {
        let server = try kind.server()
        let (home, me) = try await server.registeredHome("blk")
        let other = try await server.registerFresh("pal")
        let block = try await home.run(["block", server.jid(other)])
        #expect(block.stdout.contains("blocked \(server.jid(other))"), "\(block.stdout) \(block.stderr)")

        try await Peer(server: server, user: other).send(to: server.jid(me), body: "while blocked")
        #expect(try await home.run(["sync"]).status == 0)
        #expect(try await home.historyJSON(with: other).isEmpty, "the server dropped it")

        let unblock = try await home.run(["unblock", server.jid(other)])
        #expect(unblock.stdout.contains("unblocked \(server.jid(other))"), "\(unblock.stdout) \(unblock.stderr)")
        #expect(try await home.run(["blocked", "--json"]).lines.isEmpty)
        try await Peer(server: server, user: other).send(to: server.jid(me), body: "after unblock")
        #expect(try await home.run(["sync"]).status == 0)
        #expect(try await home.historyJSON(with: other).map { $0["body"] as? String } == ["after unblock"])
    }

    // MARK: - Group chat

    @Test(arguments: ServerKind.allCases)
    func room__join_catch_up_and_messages_both_ways(kind: ServerKind) async throws {
        let server = try kind.server()
        let me = try await server.registerFresh("muc")
        let host = try await server.registerFresh("host")
        let room = "both-\(UUID().uuidString.prefix(8).lowercased())@conference.\(server.domain)"
        let until = NSTemporaryDirectory() + "tern-room-until-\(UUID().uuidString)"
        defer { _ = FileManager.default.createFile(atPath: until, contents: nil) }
        // The host creates the room and speaks before tern is there: tern gets it from the room's archive.
        let peer = try RoomPeer(server: server, user: host, room: room, nick: "host").start([
            "--post", "before you came", "--expect", "1", "--from-nick", "tern", "--until-file", until, "--timeout", "90",
        ])
        try await peer.waitReady()

        let (store, account, engine, running) = try await server.runningEngine(me, resource: "rooms")
        defer { running.cancel() }
        _ = try store.wantRoom(accountID: account.rowID, jid: room, nick: "tern", autojoin: false)
        await engine.retryNow()
        try await waitFor("the join") { (try? store.room(accountID: account.rowID, jid: room))??.state == .joined }
        func bodies() -> [String] {
            ((try? store.history(accountID: account.rowID, conversation: room)) ?? []).map(\.message.body)
        }
        try await waitFor("the message from before the join") { bodies().contains("before you came") }

        let item = try Outbox.enqueueChat(store: store, account: account, to: room, body: "hello room")
        await engine.flush()
        try await waitFor("the room's reflection") { (try? store.outboxItem(id: item.id))??.state == .delivered }
        _ = FileManager.default.createFile(atPath: until, contents: nil)
        let heard = try await peer.finish()
        #expect(heard.messages.filter { $0["nick"] as? String == "tern" }.map { $0["body"] as? String } == ["hello room"], "\(heard.stderr)")
        #expect(bodies() == ["before you came", "hello room"], "each once")
        await engine.stop()
    }

    // MARK: - Stream management

    @Test(arguments: ServerKind.allCases)
    func resumption__after_a_cut__the_same_session_goes_on_and_nothing_is_lost(kind: ServerKind) async throws {
        let server = try kind.server()
        let me = try await server.registerFresh("sm")
        let other = try await server.registerFresh("pal")
        let proxy = try FaultProxy(upstreamHost: server.host, upstreamPort: UInt16(server.port))
        defer { proxy.stop() }
        let (store, account, engine, running) = try await server.runningEngine(me, resource: "resume", through: Int(proxy.port))
        defer { running.cancel() }
        let resumed = engine.resumption()
        try await waitUntilSessionStarted(store, account)

        proxy.cutAll()
        try await Peer(server: server, user: other).send(to: server.jid(me), body: "while you were cut off")
        #expect(await resumed.value)
        #expect(await engine.newSessions == 1, "the same session, not a new one")
        try await waitFor("the held message") {
            ((try? store.history(accountID: account.rowID, conversation: server.jid(other))) ?? []).isEmpty == false
        }
        try await Task.sleep(for: .seconds(1))
        #expect(try store.history(accountID: account.rowID, conversation: server.jid(other)).map(\.message.body)
            == ["while you were cut off"], "once")
        await engine.stop()
    }

    // MARK: - Helpers

    private func logLength(_ path: String) -> Int { FileManager.default.contents(atPath: path)?.count ?? 0 }

    /// The outbox is flushed only once every feature has started (carbons enabled, rooms
    /// joined): a probe row leaving the queue says the session is fully up.
    private func waitUntilSessionStarted(_ store: Store, _ account: Account) async throws {
        let probe = try Outbox.enqueueChat(store: store, account: account, to: "probe@\(try JID(account.jid).domain)", body: "probe")
        try await waitFor("the session to finish starting") {
            guard let state = try? store.outboxItem(id: probe.id)?.state else { return false }
            return state != .queued
        }
    }
}
