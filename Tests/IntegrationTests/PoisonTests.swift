import Foundation
import Store
import Sync
import Testing

/// Issue 11 §1: what a peer puts in a relayed stanza never costs the connection (DESIGN §6).
///
/// A slixmpp peer sends each poison shape through the real Prosody and ejabberd, followed by
/// an ordinary message: live to a `sync --watch`, then again through the archive catch-up of
/// a fresh data directory. Either way the poison is one `dropped` line, the next message is
/// stored exactly once, and the connection is never lost (one `online` event). They run in
/// the both-servers phase of `make test`.
@Suite struct PoisonTests {

    private static func events(_ watch: RunningProcess) -> [[String: Any]] {
        watch.output().stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    private static func onlineCount(_ events: [[String: Any]]) -> Int {
        events.filter { $0["event"] as? String == "connection" && $0["state"] as? String == "online" }.count
    }

    /// Watches `home` until `body` from `sender` is stored, then stops; returns the events seen.
    private static func watchUntilStored(_ home: TernHome, _ body: String, from sender: String, whileDoing act: () async throws -> Void)
        async throws -> [[String: Any]]
    {
        let watch = try home.start(["sync", "--watch", "--json"])
        try await waitFor("sync --watch to come online") { onlineCount(events(watch)) >= 1 }
        try await act()
        try await waitFor("'\(body)' to be stored", timeout: .seconds(60)) {
            events(watch).contains { $0["event"] as? String == "message" && $0["body"] as? String == body }
        }
        // Long enough for a dropped connection to have come back, as it did every half second.
        try await Task.sleep(for: .seconds(2))
        watch.interrupt()
        _ = try await watch.finish(timeout: .seconds(20))
        return events(watch)
    }

    @Test(arguments: ServerKind.allCases, ["attrs", "depth", "text", "size"])
    func poison__liveAndFromTheArchive__isOneDroppedLine_andTheConnectionStays(kind: ServerKind, shape: String) async throws {
        let server = try kind.server()
        let sender = try await server.registerFresh("poisoner")
        let victimHome = TernHome(server)
        let victim = server.freshUser("victim")
        try await victimHome.register(victim)
        let peer = Peer(server: server, user: sender)
        let after = "after the \(shape) poison"

        let live = try await Self.watchUntilStored(victimHome, after, from: sender) {
            try await peer.send(to: server.jid(victim), body: "poison", poison: shape)
            try await peer.send(to: server.jid(victim), body: after)
        }
        #expect(Self.onlineCount(live) == 1, "live: \(live)")
        let droppedLive = live.filter { $0["event"] as? String == "dropped" }
        #expect(droppedLive.count == 1, "live: \(droppedLive)")
        #expect(droppedLive.first?["kind"] as? String == "message")
        #expect((droppedLive.first?["from"] as? String)?.hasPrefix(server.jid(sender)) == true)
        #expect(try await victimHome.historyJSON(with: sender).compactMap { $0["body"] as? String } == [after])

        // A fresh data directory catches up from the archive, which still holds the poison.
        let fresh = TernHome(server)
        try await fresh.login(victim)
        let caughtUp = try await Self.watchUntilStored(fresh, after, from: sender) {}
        #expect(Self.onlineCount(caughtUp) == 1, "catch-up: \(caughtUp)")
        let droppedArchived = caughtUp.filter { $0["event"] as? String == "dropped" }
        #expect(droppedArchived.count == 1, "catch-up: \(droppedArchived)")
        #expect(droppedArchived.first?["kind"] as? String == "archived message")
        #expect((droppedArchived.first?["from"] as? String)?.hasPrefix(server.jid(sender)) == true)
        #expect(try await fresh.historyJSON(with: sender).compactMap { $0["body"] as? String } == [after])
    }
}

/// Counts what an engine reports while a pass runs.
private actor DropCounter {
    private(set) var dropped = 0
    func add(_ count: Int) { dropped += count }
}

extension PoisonTests {
    /// The archive page that held the poison moves the cursor past it, even when the poison
    /// is the newest item: the next catch-up does not fetch it again.
    @Test(arguments: ServerKind.allCases)
    func poison__newestInTheArchive__isPassedOnce_andNotFetchedAgain(kind: ServerKind) async throws {
        let server = try kind.server()
        let sender = try await server.registerFresh("poisoner")
        let victim = try await server.registerFresh("victim")
        let (store, account) = try await server.loggedInStore(victim, resource: "poisoned")
        let peer = Peer(server: server, user: sender)
        try await peer.send(to: server.jid(victim), body: "before the poison")
        try await peer.send(to: server.jid(victim), body: "poison", poison: "depth")

        func pass() async throws -> Int {
            let engine = SyncEngine(store: store, account: account)
            let counter = DropCounter()
            let listener = Task {
                for await event in engine.events { if case .dropped(let reports) = event { await counter.add(reports.count) } }
            }
            let report = await engine.syncOnce()
            listener.cancel()
            #expect(report.error == nil, "\(String(describing: report.error))")
            return await counter.dropped
        }
        #expect(try await pass() >= 1, "the first pass meets the poison (offline delivery, archive)")
        let bodies = try store.history(accountID: account.rowID, conversation: server.jid(sender)).map(\.message.body)
        #expect(bodies == ["before the poison"])
        #expect(try await pass() == 0, "the cursor moved past it")
    }
}
