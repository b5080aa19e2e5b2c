import Foundation
import Store
import Testing

/// Issue 11 §2: strangers cannot grow the store. A slixmpp peer registers fresh accounts (so no
/// other suite's roster changes) that flood a tern account with subscription requests and
/// directed presence, one of them from many resources; the store stays within its caps, the
/// owner's `sync --watch --json` tells it as a few summaries, and the presence goes with them.
@Suite struct StrangerTests {
    let server: TestServer

    init() throws {
        server = try TestServer.fromEnvironment()
    }

    static let floodAccounts = Store.maxPendingSubscriptionRequests + 6
    static let floodResources = Store.maxStrangerResources + 3

    @Test func flood__of_requests_and_presence__stays_within_the_caps_and_is_told_as_summaries() async throws {
        let (home, me) = try await server.registeredHome("target", password: "pw-target")
        let store = try Store(directory: home.path)
        let account = try #require(try store.account(jid: server.jid(me)))
        let owner = try home.start(["sync", "--watch", "--json"])
        defer { owner.interrupt() }
        try await waitFor("the owner to come online") { owner.output().stdout.contains("\"state\":\"online\"") }

        let stop = NSTemporaryDirectory() + "tern-flood-stop-\(UUID().uuidString)"
        let began = ContinuousClock.now
        // Generous timeouts: 60-odd logins compete with every other suite for the server.
        let flood = try startProcess("/usr/bin/env", [
            "python3", server.peerScript, "flood", "--host", server.host, "--port", String(server.port), "--ca", server.caFile,
            "--connect-timeout", "60",
            "--to", "\(account.jid)/\(account.resource)", "--accounts", String(Self.floodAccounts),
            "--resources", String(Self.floodResources), "--subscribe", "--presence", "--until-file", stop, "--timeout", "240",
        ])
        defer { flood.interrupt() }
        try await waitFor("the flood to be routed", timeout: .seconds(300)) {
            flood.output().stdout.contains("\"ready\"") || !flood.process.isRunning
        }
        guard flood.output().stdout.contains("\"ready\"") else { throw HarnessError("the flood peer failed: \(flood.output().stderr)") }
        let ready = try #require(json(flood.output().stdout.split(separator: "\n").first.map(String.init) ?? ""))
        let first = try #require(ready["first"] as? String)

        // Every request and presence is either stored or counted as refused in a summary.
        let presenceSent = Self.floodAccounts + Self.floodResources - 1
        let expectedRefused = (Self.floodAccounts - Store.maxPendingSubscriptionRequests) + (presenceSent - Store.maxStrangerPresence)
        try await waitFor("the summaries to count everything", timeout: .seconds(60)) {
            summaries(owner).reduce(0) { $0 + ($1["refused"] as? Int ?? 0) } == expectedRefused
        }
        #expect(try store.subscriptionRequests(accountID: account.rowID).count == Store.maxPendingSubscriptionRequests)
        #expect(try strangerPresence(store, account) == Store.maxStrangerPresence)
        #expect(try store.presence(accountID: account.rowID, jid: first).count == Store.maxStrangerResources)
        // What was stored is what was told: a few lines, most of it in summaries (the first
        // stranger, alone for a moment before the rest, may come out as itself).
        let events = owner.output().stdout.split(separator: "\n").compactMap { json(String($0)) }
        let single = events.filter { ["subscription-request", "presence"].contains($0["event"] as? String ?? "") }
        let told = summaries(owner)
        #expect(told.reduce(0) { $0 + ($1["requests"] as? Int ?? 0) } + single.filter { $0["event"] as? String == "subscription-request" }.count
            == Store.maxPendingSubscriptionRequests)
        #expect(told.reduce(0) { $0 + ($1["presence"] as? Int ?? 0) } + single.filter { $0["event"] as? String == "presence" }.count
            == Store.maxStrangerPresence)
        // At most one summary per 10 s once a flood is on (StrangerDigest.summaryGap), against
        // a line for each of the 120-odd requests and presences.
        let lines = told.count + single.count
        #expect(lines <= 3 + Int(began.duration(to: .now) / .seconds(10)), "\(told.count) summaries + \(single.count) lines")
        #expect(lines <= 20)
        let pending = try await home.run(["roster", "--pending", "--json"])
        #expect(pending.lines.count == Store.maxPendingSubscriptionRequests, "\(pending.stderr)")

        // The strangers leave: their presence goes from the store with them.
        _ = FileManager.default.createFile(atPath: stop, contents: Data())
        let left = try await flood.finish(timeout: .seconds(60))
        #expect(left.status == 0, "\(left.stderr)")
        try await waitFor("the strangers' presence to go", timeout: .seconds(60)) { (try? strangerPresence(store, account)) == 0 }
        #expect(try store.subscriptionRequests(accountID: account.rowID).count == Store.maxPendingSubscriptionRequests, "requests wait for an answer")
        owner.interrupt()
        _ = try await owner.finish(timeout: .seconds(20))
    }

    func json(_ line: String) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
    }

    func summaries(_ owner: RunningProcess) -> [[String: Any]] {
        owner.output().stdout.split(separator: "\n").compactMap { json(String($0)) }.filter { $0["event"] as? String == "strangers" }
    }

    func strangerPresence(_ store: Store, _ account: Account) throws -> Int {
        try store.read { db in
            try Int.fetchOne(
                db, sql: "SELECT count(*) FROM presence WHERE account_id = ? AND jid != ?", arguments: [account.rowID, account.jid]) ?? 0
        }
    }
}
