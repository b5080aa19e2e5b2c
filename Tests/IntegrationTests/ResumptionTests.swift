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

    // MARK: - The resumption location (XEP-0198 §5; issue 11 §2)

    /// A logged-in engine whose resumable session was just lost, so its next `connect()` resumes.
    /// With `configuredServer` false the account names no server and `usual` stands in for what
    /// DNS would find (the test domain has no SRV records); otherwise the account names the real server.
    func lostSession(
        _ user: String, resource: String, configuredServer: Bool, usual: [Endpoint] = []
    ) async throws -> (Store, Account, SyncEngine) {
        var (store, account) = try await server.loggedInStore(user, resource: resource)
        if !configuredServer {
            account.host = nil
            account.port = nil
            try store.updateAccount(account)
        }
        let engine = SyncEngine(store: store, account: account) { $0.lookupEndpoints = { _ in usual } }
        _ = try await engine.connect()
        await engine.dropLink()
        try await waitFor("the link to drop") { (try? store.syncState(accountID: account.rowID).connection) == "offline" }
        return (store, account, engine)
    }

    func savedSession(_ store: Store, _ account: Account) throws -> StreamManagement.Snapshot {
        let text = try #require(try store.streamManagementState(accountID: account.rowID))
        return try JSONDecoder().decode(StreamManagement.Snapshot.self, from: Data(text.utf8))
    }

    /// Prosody names no location, so the saved state gets one, as a server's `<enabled location>` would.
    func saveLocation(_ location: String, _ store: Store, _ account: Account) throws {
        var snapshot = try savedSession(store, account)
        #expect(snapshot.canResume)
        snapshot.location = location
        try store.saveStreamManagementState(accountID: account.rowID, String(decoding: try JSONEncoder().encode(snapshot), as: UTF8.self))
    }

    var realServer: Endpoint { Endpoint(host: server.host, port: UInt16(server.port), directTLS: false) }

    /// Only the location can bring the session back: the usual route (a proxy) refuses, and is not even tried.
    @Test func resumptionLocation__isTriedFirst__whenNoServerIsConfigured() async throws {
        let proxy = try FaultProxy(upstreamHost: server.host, upstreamPort: UInt16(server.port))
        defer { proxy.stop() }
        let usual = Endpoint(host: "127.0.0.1", port: proxy.port, directTLS: false)
        let (store, account, engine) = try await lostSession("test55", resource: "location", configuredServer: false, usual: [usual])
        #expect(proxy.connectionsAccepted == 1)
        proxy.refuse(true)
        try saveLocation(server.server, store, account)

        let session = try await engine.connect()
        #expect(session.start.isResumed, "the same session, not a new one")
        #expect(proxy.connectionsAccepted == 1, "the usual route was not needed")
        await engine.stop()
    }

    /// Before: the location came first even with `--server`, and its failure ended the attempt,
    /// again and again. A configured server is where the user wants to go; the hint is not followed.
    @Test func resumptionLocation__isIgnored__whenTheAccountNamesAServer() async throws {
        let (store, account, engine) = try await lostSession("test28", resource: "location-configured", configuredServer: true)
        let elsewhere = try FaultProxy(upstreamHost: server.host, upstreamPort: UInt16(server.port))
        defer { elsewhere.stop() }
        try saveLocation("127.0.0.1:\(elsewhere.port)", store, account)

        let session = try await engine.connect()
        #expect(session.start.isResumed)
        #expect(elsewhere.connectionsAccepted == 0, "the location was never contacted")
        await engine.stop()
    }

    /// Before: a location that speaks something else (here Prosody's direct-TLS port, spoken to in
    /// STARTTLS mode: it resets the connection) ended the attempt, and every retry went there again.
    @Test func resumptionLocation__thatSpeaksSomethingElse__isForgotten_andTheUsualEndpointsResume() async throws {
        let (store, account, engine) = try await lostSession(
            "test49", resource: "location-other", configuredServer: false, usual: [realServer])
        let directTLSPort = try #require(ProcessInfo.processInfo.environment["TERN_TEST_DIRECT_TLS_PORT"])
        try saveLocation("127.0.0.1:\(directTLSPort)", store, account)

        let session = try await engine.connect()  // one attempt
        #expect(session.start.isResumed, "resumed at the usual endpoint within the same attempt")
        #expect(try savedSession(store, account).location == nil, "the failed location is forgotten")
        await engine.stop()
    }

    /// Before: a location whose certificate does not verify stopped the engine for good, as if the
    /// account's own server could not be trusted. The certificate of the usual server still counts.
    @Test func resumptionLocation__withAWrongCertificate__isForgotten_andTheUsualEndpointsResume() async throws {
        let otherKeyPort = try #require(
            ProcessInfo.processInfo.environment["TERN_TEST_OTHER_KEY_PORT"], "run the tests with `make test`")
        let (store, account, engine) = try await lostSession(
            "test50", resource: "location-cert", configuredServer: false, usual: [realServer])
        try saveLocation("127.0.0.1:\(otherKeyPort)", store, account)

        let session = try await engine.connect()
        #expect(session.start.isResumed)
        #expect(try savedSession(store, account).location == nil)
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
