import Foundation
import Store
import Sync
import Testing
import XMPP

/// XEP-0198 resumption against the real Prosody: across a dropped link within one process,
/// and across a `kill -9` in the middle of a flush (issue 5, fault test 3; issue 4: a resumed
/// session does not fetch the roster or reset presence).
@Suite(.serialized) struct ResumptionTests {
    let server: TestServer

    init() throws {
        server = try TestServer.fromEnvironment()
    }

    @Test func droppedLink__resumesTheSameSession_withoutStartingItAgain() async throws {
        let (store, account, engine, running) = try await server.runningEngine("test51", resource: "resume")
        defer { running.cancel() }
        let online = Task {
            var details: [String] = []
            for await event in engine.events {
                if case .connection(.online, let detail?) = event {
                    details.append(detail)
                    if details.count == 2 { break }
                }
            }
            return details
        }
        #expect(await engine.newSessions == 1)
        let saved = try #require(try store.streamManagementState(accountID: account.rowID), "the session is saved once enabled")
        #expect(saved.contains("\"resumable\":true"))

        await engine.dropLink()
        // A message sent while we are away waits in the hibernating session on the server.
        let body = "while you were away \(UUID())"
        try await Peer(server: server, user: "test52").send(to: server.jid("test51"), body: body)
        let details = await online.value
        #expect(details.last?.hasSuffix("resumed") == true, "\(details)")
        // Nothing was started again: no roster request, no presence reset (issue 4).
        #expect(await engine.newSessions == 1)
        try await waitFor("the held message") {
            (try? store.history(accountID: account.rowID, conversation: server.jid("test52"), limit: 10))?
                .contains { $0.message.body == body } == true
        }
        let copies = try store.history(accountID: account.rowID, conversation: server.jid("test52"), limit: 10)
        #expect(copies.filter { $0.message.body == body }.count == 1, "\(copies.map(\.message))")
        await engine.stop()
        #expect(try store.streamManagementState(accountID: account.rowID) == nil, "a clean close ends the session")
    }

    @Test func killedMidFlush__theNextRunResumes_andEveryMessageArrivesOnce() async throws {
        let home = TernHome(server)
        try await home.login("test53")
        let count = 400
        let run = UUID().uuidString.prefix(8)
        do {
            let store = try Store(directory: home.path)
            let account = try #require(try store.account(jid: server.jid("test53")))
            for n in 1...count {
                try Outbox.enqueueChat(store: store, account: account, to: server.jid("test54"), body: "crash \(run) \(n)")
            }
        }
        // Generous: under full load a pass may have to give up a stuck resumed stream and send
        // again on a fresh session (barrier, ack patience, close) before everything is in.
        let peer = try Peer(server: server, user: "test54").startReceiving(from: server.jid("test53"), count: count, timeout: 100, linger: 3)
        try await Task.sleep(for: .seconds(2))  // the peer is online before we flush

        let watcher = try home.start(["sync", "--watch", "--json"])
        try await waitFor("the flush to start") { watcher.output().stdout.contains("\"state\":\"sent\"") }
        kill(watcher.process.processIdentifier, SIGKILL)
        _ = try await watcher.finish(timeout: .seconds(10))

        let resumed = try await home.run(["sync"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("(resumed)"), "\(resumed.stdout)")

        let received = Peer.messages(try await peer.finish(timeout: .seconds(130)))
        let bodies = received.compactMap { $0["body"] as? String }.filter { $0.hasPrefix("crash \(run) ") }
        #expect(Set(bodies).count == count, "every message arrived")
        #expect(bodies.count == count, "and exactly once, since the session was resumed")

        let store = try Store(directory: home.path)
        let account = try #require(try store.account(jid: server.jid("test53")))
        let states = Set(try store.outbox(accountID: account.rowID, includeFinished: true).map(\.state))
        #expect(states.isSubset(of: [.acked, .delivered]), "\(states)")
        #expect(try store.integrityCheck() == ["ok"])
        let history = try store.history(accountID: account.rowID, conversation: server.jid("test54"), limit: 5000)
        #expect(history.filter { $0.message.body.hasPrefix("crash \(run) ") }.count == count, "our own store shows each message once")
    }

    /// XEP-0198 §5: a session enabled with a `location` is resumed there first. Prosody sends
    /// none, so the saved state gets one that names the real server, while the usual route
    /// (a proxy) refuses every connection: only the location can bring the session back.
    @Test func resumptionLocation__isTriedFirst__whenTheUsualRouteIsDown() async throws {
        let proxy = try FaultProxy(upstreamHost: server.host, upstreamPort: UInt16(server.port))
        defer { proxy.stop() }
        let (store, account, engine, running) = try await server.runningEngine("test55", resource: "location", through: Int(proxy.port))
        defer { running.cancel() }
        let resumed = engine.resumption()
        try await waitFor("the engine to come online") { (try? store.syncState(accountID: account.rowID).connection) == "online" }

        proxy.refuse(true)
        proxy.cutAll()
        try await waitFor("the link to drop") { (try? store.syncState(accountID: account.rowID).connection) != "online" }
        let text = try #require(try store.streamManagementState(accountID: account.rowID))
        var snapshot = try JSONDecoder().decode(StreamManagement.Snapshot.self, from: Data(text.utf8))
        #expect(snapshot.canResume)
        snapshot.location = "\(server.host):\(server.port)"
        let edited = String(decoding: try JSONEncoder().encode(snapshot), as: UTF8.self)
        try store.saveStreamManagementState(accountID: account.rowID, edited)

        try await waitFor("the session to resume at its location", timeout: .seconds(30)) {
            (try? store.syncState(accountID: account.rowID).connection) == "online"
        }
        #expect(await resumed.value)
        #expect(await engine.newSessions == 1, "the same session, not a new one")
        await engine.stop()
    }

    /// A clean close forgets the session, so whatever the server had not confirmed by then
    /// must go back to the queue: left `sent`, it would never be sent again (a fresh-clone CI
    /// run lost 23 of 400 messages this way when a slow server had not acked them yet).
    @Test func cleanClose_withUnconfirmedMessages__queuesThemAgain() async throws {
        let proxy = try FaultProxy(upstreamHost: server.host, upstreamPort: UInt16(server.port))
        defer { proxy.stop() }
        let (store, account) = try await server.loggedInStore("test67", resource: "close", port: Int(proxy.port))
        let engine = SyncEngine(store: store, account: account)
        _ = try await engine.connect()
        proxy.stall(true)  // nothing passes any more: no ack can come back
        let item = try Outbox.enqueueChat(store: store, account: account, to: server.jid("test68"), body: "unconfirmed")
        #expect(await engine.flush() == 1)
        #expect(try store.outboxItem(id: item.id)?.state == .sent)
        await engine.disconnect()
        #expect(try store.streamManagementState(accountID: account.rowID) == nil, "the session is over")
        let row = try #require(try store.outboxItem(id: item.id))
        #expect(row.state == .queued, "sent again next time, with its same origin-id")
        #expect(row.attempts == 1)
    }
}
