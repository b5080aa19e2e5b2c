import Foundation
import Store
import Sync
import Testing
import XMPP

/// Issue 5's fault tests: tern talks to the real Prosody through `FaultProxy`, which cuts the
/// link at random moments (mid-stanza included) or refuses it for a while.
@Suite(.serialized) struct FaultTests {
    let server: TestServer

    init() throws {
        server = try TestServer.forFaults()
    }

    /// A fresh store logged in as `user` through `proxy` (before any fault is switched on).
    func store(_ user: String, through proxy: FaultProxy) async throws -> (Store, Account) {
        try await server.loggedInStore(user, resource: "fault", port: Int(proxy.port))
    }

    func history(_ store: Store, _ account: Account, with user: String, token: String) throws -> [StoredMessage] {
        try store.history(accountID: account.rowID, conversation: server.jid(user), limit: 100_000)
            .map(\.message).filter { $0.body.hasPrefix(token) }
    }

    /// Queues `count` messages (`token` and their number) while offline; their outbox ids by body.
    func queue(_ count: Int, token: String, in store: Store, _ account: Account, to user: String) throws -> [String: String] {
        var outboxIDs: [String: String] = [:]
        for n in 1...count {
            let item = try Outbox.enqueueChat(store: store, account: account, to: server.jid(user), body: token + String(n))
            outboxIDs[item.body] = item.id
        }
        return outboxIDs
    }

    /// What the engine reported about its connection, to print when a test fails.
    func connectionLog(_ engine: SyncEngine) -> Task<[String], Never> {
        Task {
            var lines: [String] = []
            for await event in engine.events {
                if case .connection(let state, let detail) = event { lines.append("\(ContinuousClock.now) \(state) \(detail ?? "")") }
            }
            return lines
        }
    }

    @Test func flush__2000ThroughRandomCuts__everyMessageArrives_resendsKeepTheirOriginID() async throws {
        let proxy = try FaultProxy(upstreamHost: server.host, upstreamPort: UInt16(server.port))
        defer { proxy.stop() }
        let (store, account) = try await store("test61", through: proxy)
        let token = "cut \(UUID().uuidString.prefix(8)) "
        let count = 2000
        let outboxIDs = try queue(count, token: token, in: store, account, to: "test62")
        let peer = try Peer(server: server, user: "test62").startReceiving(
            from: server.jid("test61"), count: count, timeout: 320, linger: 5)
        try await Task.sleep(for: .seconds(2))  // the peer is online before the first byte leaves

        proxy.cutRandomly(every: .milliseconds(50) ... .milliseconds(500))
        let engine = SyncEngine(store: store, account: account)
        let running = Task { await engine.run() }
        let log = connectionLog(engine)
        // Generous: each resumption that meets Prosody 0.12 still reading the cut link's last
        // bytes ends in not-well-formed, and tern has to start over (see the note in README).
        do {
            try await waitFor("the server to confirm every row", timeout: .seconds(300)) {
                let rows = (try? store.outbox(accountID: account.rowID, includeFinished: true)) ?? []
                return rows.count == count && rows.allSatisfy { $0.state == .acked || $0.state == .delivered }
            }
        } catch {
            let rows = (try? store.outbox(accountID: account.rowID, includeFinished: true)) ?? []
            print("on failure: ", Dictionary(grouping: rows, by: \.state).mapValues(\.count), (try? store.streamManagementState(accountID: account.rowID))?.prefix(300) ?? "nil")
            await engine.stop()
            log.cancel()
            for line in await log.value.suffix(60) { print("on failure: ", line) }
            throw error
        }
        proxy.stopCutting()
        let newSessions = await engine.newSessions
        await engine.stop()
        await running.value

        let received = Peer.messages(try await peer.finish(timeout: .seconds(340)))
            .filter { ($0["body"] as? String)?.hasPrefix(token) == true }
        let bodies = received.compactMap { $0["body"] as? String }
        print("flush through cuts: \(proxy.cuts) cuts, \(proxy.connectionsAccepted) connections, "
            + "\(newSessions) new sessions, \(bodies.count - Set(bodies).count) duplicates at the peer")
        #expect(Set(bodies) == Set(outboxIDs.keys), "every message arrived")
        // A resend carries the message's own id as origin-id, so the recipient can drop it.
        for message in received {
            let body = message["body"] as? String ?? ""
            #expect(message["origin_id"] as? String == outboxIDs[body], "\(body)")
        }
        if newSessions == 1 {
            #expect(bodies.count == count, "every reconnection resumed, so nothing may arrive twice")
        }
        #expect(proxy.cuts > 0, "the link was cut")
        #expect(try history(store, account, with: "test62", token: token).count == count, "our store shows each once")
        #expect(try store.integrityCheck() == ["ok"])
    }

    @Test func receive__1000ThroughRandomCuts__eachStoredOnce() async throws {
        let proxy = try FaultProxy(upstreamHost: server.host, upstreamPort: UInt16(server.port))
        defer { proxy.stop() }
        let (store, account) = try await store("test63", through: proxy)
        let engine = SyncEngine(store: store, account: account)
        let running = Task { await engine.run() }
        let log = connectionLog(engine)
        try await waitFor("the engine to come online") { (try? store.syncState(accountID: account.rowID).connection) == "online" }

        let token = "in \(UUID().uuidString.prefix(8)) "
        let count = 1000
        proxy.cutRandomly(every: .milliseconds(50) ... .milliseconds(500))
        let send = try await runProcess("/usr/bin/env", [
            "python3", server.peerScript, "send", "--jid", server.jid("test64"), "--password", server.password("test64"),
            "--host", server.host, "--port", String(server.port), "--ca", server.caFile,
            "--to", server.jid("test63"), "--body", token + "{n}", "--count", String(count), "--hard-timeout", "150",
        ], timeout: .seconds(160))
        #expect(send.status == 0, "\(send.stderr)")
        try await Task.sleep(for: .seconds(3))
        proxy.stopCutting()
        // Once the link holds, resumption and offline delivery bring in what the server held
        // for the session; a sync's new session catches up from the archive for the rest.
        try? await waitFor("the messages held for the session", timeout: .seconds(20)) {
            ((try? history(store, account, with: "test64", token: token).count) ?? 0) >= count
        }
        let held = try history(store, account, with: "test64", token: token).count
        await engine.stop()
        await running.value
        let report = await SyncEngine(store: store, account: account).syncOnce()
        #expect(report.error == nil, "\(String(describing: report.error))")
        if try history(store, account, with: "test64", token: token).count < count {
            let got = Set(try history(store, account, with: "test64", token: token).map { Int($0.body.dropFirst(token.count)) ?? 0 })
            print("on failure: got \(got.count); missing", (1...count).filter { !got.contains($0) }.prefix(50))
            log.cancel()
            for line in await log.value.suffix(60) { print("on failure: ", line) }
        }
        log.cancel()
        let stored = try history(store, account, with: "test64", token: token).map(\.body)
        print("receive through cuts: \(proxy.cuts) cuts, \(proxy.connectionsAccepted) connections, "
            + "\(held) of \(count) stored before the closing sync")
        #expect(stored.count == count, "each message once")
        #expect(Set(stored).count == count)
    }

    /// A server that stops confirming while the link looks alive (a stall here; a resumed
    /// stream Prosody silently broke, seen under load): the pass gives that session up and
    /// sends the unconfirmed rows again on a fresh one, within the same `tern sync` pass.
    /// At least once: the peer may see some twice, always with the same origin-id.
    @Test func silentServer__aPassStartsAFreshSession_andEverythingIsConfirmed() async throws {
        let proxy = try FaultProxy(upstreamHost: server.host, upstreamPort: UInt16(server.port))
        defer { proxy.stop() }
        let (store, account) = try await store("test67", through: proxy)
        let token = "silent \(UUID().uuidString.prefix(8)) "
        let count = 500
        let outboxIDs = try queue(count, token: token, in: store, account, to: "test68")
        let peer = try Peer(server: server, user: "test68").startReceiving(
            from: server.jid("test67"), count: count, timeout: 120, linger: 3)
        try await Task.sleep(for: .seconds(2))

        let engine = SyncEngine(store: store, account: account)
        let silenced = Task {
            for await event in engine.events {
                // The first row on its way: this link goes silent, acks included; new ones work.
                if case .outbox(_, .sent) = event {
                    proxy.stallExisting()
                    return
                }
            }
        }
        let report = await engine.syncOnce(attempts: 3)
        silenced.cancel()
        #expect(report.error == nil, "\(String(describing: report.error))")
        #expect(proxy.connectionsAccepted >= 2, "a fresh session was started")
        let states = Set(try store.outbox(accountID: account.rowID, includeFinished: true).map(\.state))
        #expect(states.isSubset(of: [.acked, .delivered]), "\(states)")

        let received = Peer.messages(try await peer.finish(timeout: .seconds(150)))
        let bodies = received.compactMap { $0["body"] as? String }.filter { $0.hasPrefix(token) }
        #expect(Set(bodies).count == count, "every message arrived")
        for copy in received {
            guard let body = copy["body"] as? String, body.hasPrefix(token) else { continue }
            #expect(copy["origin_id"] as? String == outboxIDs[body], "a resent copy keeps its origin-id")
        }
        #expect(try history(store, account, with: "test68", token: token).count == count, "our store shows each once")
    }

    @Test func sessionExpiry__resumptionFailsCleanly_andCatchUpFillsTheGap() async throws {
        let proxy = try FaultProxy(upstreamHost: server.host, upstreamPort: UInt16(server.port))
        defer { proxy.stop() }
        let (store, account) = try await store("test65", through: proxy)
        let engine = SyncEngine(store: store, account: account)
        let joins = EventLog()
        Task {
            for await event in engine.events {
                if case .room(let room) = event, room.kind == .joined { joins.append(room) }
            }
        }
        let running = Task { await engine.run() }
        try await waitFor("the engine to come online") { (try? store.syncState(accountID: account.rowID).connection) == "online" }
        #expect(await engine.newSessions == 1)
        // Issue 6: the rooms are joined again after a failed resumption.
        let room = "expiry-\(UUID().uuidString.prefix(8).lowercased())@conference.localhost"
        _ = try store.wantRoom(accountID: account.rowID, jid: room, nick: "t65", password: nil, autojoin: false)
        await engine.retryNow()
        try await waitFor("the room joined") { joins.all.count == 1 }

        // The link dies and stays dead past the server's 20 s hibernation.
        proxy.refuse(true)
        await engine.dropLink()
        let token = "gap \(UUID().uuidString.prefix(8)) "
        let send = try await runProcess("/usr/bin/env", [
            "python3", server.peerScript, "send", "--jid", server.jid("test66"), "--password", server.password("test66"),
            "--host", server.host, "--port", String(server.port), "--ca", server.caFile,
            "--to", server.jid("test65"), "--body", token + "{n}", "--count", "5",
        ])
        #expect(send.status == 0, "\(send.stderr)")
        try Outbox.enqueueChat(store: store, account: account, to: server.jid("test66"), body: token + "written while away")
        try await Task.sleep(for: .seconds(24))
        proxy.refuse(false)
        await engine.retryNow()

        try await waitFor("the five messages sent while away", timeout: .seconds(30)) {
            ((try? history(store, account, with: "test66", token: token).filter { $0.direction == .incoming }.count) ?? 0) >= 5
        }
        try await waitFor("the message written while away to leave") {
            (try? store.outbox(accountID: account.rowID, includeFinished: true))?.allSatisfy { $0.state == .acked } == true
        }
        #expect(await engine.newSessions == 2, "the expired session could not be resumed: a new one started")
        try await waitFor("the room joined again") { joins.all.count == 2 }
        #expect(try store.room(accountID: account.rowID, jid: room)?.state == .joined)
        await engine.stop()
        await running.value
        let stored = try history(store, account, with: "test66", token: token)
        #expect(stored.filter { $0.direction == .incoming }.count == 5, "each once: \(stored.map(\.body))")
    }
}
