import Foundation
import Testing

/// XEP-0313 catch-up against the test server: what another client of ours received live
/// (so the server kept it only in the archive) reaches tern's history once, in order, and
/// `history --fetch` brings older history on demand. Accounts test45–test48.
///
/// Bodies carry a token of this run, so a rerun against the same server (whose archives
/// still hold earlier runs) checks only its own messages.
@Suite(.serialized) struct ArchiveCatchUpServerTests {
    let server: TestServer
    let run = String(UUID().uuidString.prefix(8))

    private func bodies(_ rows: [[String: Any]]) -> [String] {
        rows.compactMap { $0["body"] as? String }.filter { $0.contains(run) }
    }

    init() throws { server = try TestServer.fromEnvironment() }

    private func peerArguments(_ command: String, _ user: String) -> [String] {
        [server.peerScript, command, "--jid", server.jid(user), "--password", server.password(user),
         "--host", server.host, "--port", String(server.port), "--ca", server.caFile]
    }

    /// `sender` sends `count` messages ("`body` N") to `recipient` while a slixmpp client of
    /// `recipient` is online and takes them live, so the server stores them in the archive only.
    private func deliverLive(from sender: String, to recipient: String, count: Int, body: String) async throws {
        let ready = NSTemporaryDirectory() + "tern-ready-\(UUID().uuidString)"
        let receiver = try startProcess("/usr/bin/env", ["python3"] + peerArguments("receive", recipient) + [
            "--from", server.jid(sender), "--count", String(count), "--timeout", "120", "--ready-file", ready,
        ])
        try await waitFor("the receiving peer to be online") { FileManager.default.fileExists(atPath: ready) }
        let sent = try await runProcess("/usr/bin/env", ["python3"] + peerArguments("send", sender) + [
            "--to", server.jid(recipient), "--body", "\(body) \(run) {n}", "--count", String(count),
        ], timeout: .seconds(120))
        #expect(sent.status == 0, "peer send: \(sent.stderr)")
        let received = try await receiver.finish(timeout: .seconds(150))
        #expect(received.status == 0, "peer receive: \(received.stderr)")
        #expect(Peer.messages(received).count == count)
    }

    private func history(_ home: TernHome, with user: String, extra: [String] = []) async throws -> [[String: Any]] {
        let result = try await home.run(["history", server.jid(user), "--json", "--limit", "5000"] + extra, timeout: .seconds(120))
        guard result.status == 0 else { throw HarnessError("history failed: \(result.stderr)") }
        return result.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    private func sync(_ home: TernHome) async throws {
        let result = try await home.run(["sync"], timeout: .seconds(120))
        #expect(result.status == 0, "sync: \(result.stderr)")
    }

    @Test func firstSync__brings_messages_another_client_took_live__once_each_in_order() async throws {
        try await deliverLive(from: "test46", to: "test45", count: 50, body: "archived")
        let home = TernHome(server)
        try await home.login("test45")
        try await sync(home)
        let expected = (1...50).map { "archived \(run) \($0)" }
        let first = try await history(home, with: "test46")
        let ours = first.filter { ($0["body"] as? String)?.contains(run) == true }
        #expect(bodies(first) == expected)
        #expect(ours.allSatisfy { $0["direction"] as? String == "in" })
        #expect(ours.allSatisfy { ($0["stanza_id"] as? String)?.isEmpty == false })

        // Our own message comes back from the archive on the next catch-up: it must stay one row.
        let sent = try await home.run(["send", server.jid("test46"), "from tern \(run)"])
        #expect(sent.status == 0, "send: \(sent.stderr)")
        // Server stamps have whole seconds while our own row has the local time: a second apart,
        // the order is unambiguous. These wait offline for test45, so they arrive both as
        // offline messages and from the archive.
        try await Task.sleep(for: .milliseconds(1100))
        let later = try await runProcess("/usr/bin/env", ["python3"] + peerArguments("send", "test46") + [
            "--to", server.jid("test45"), "--body", "later \(run) {n}", "--count", "3",
        ])
        #expect(later.status == 0, "peer send: \(later.stderr)")
        try await sync(home)
        try await sync(home)
        let after = try await history(home, with: "test46")
        #expect(bodies(after) == expected + ["from tern \(run)"] + (1...3).map { "later \(run) \($0)" })
        let own = after.filter { $0["body"] as? String == "from tern \(run)" }
        #expect(own.count == 1)
        #expect(own.first?["direction"] as? String == "out")
    }

    @Test func firstSync__is_bounded__and_history_fetch_pages_further_back() async throws {
        // 10 old ones, then (a second later, so no archive stamp is shared across the
        // boundary) 1,000 more: the first sync's window is the newest 1,000.
        try await deliverLive(from: "test48", to: "test47", count: 10, body: "old")
        try await Task.sleep(for: .milliseconds(1100))
        try await deliverLive(from: "test48", to: "test47", count: 1000, body: "bulk")
        let home = TernHome(server)
        try await home.login("test47")
        try await sync(home)
        let bulk = (1...1000).map { "bulk \(run) \($0)" }
        let windowed = try await history(home, with: "test48")
        // Exactly the newest 1,000, all of this run.
        #expect(windowed.count == 1000)
        #expect(bodies(windowed) == bulk)

        let fetch = try await home.run(["history", server.jid("test48"), "--fetch", "--limit", "10", "--json"], timeout: .seconds(120))
        #expect(fetch.status == 0, "history --fetch: \(fetch.stderr)")
        #expect(fetch.stderr.contains("fetched 10 older message(s)"))
        // --json output stays JSON Lines: the summary went to stderr.
        #expect(fetch.lines.allSatisfy { $0.hasPrefix("{") })
        let full = try await history(home, with: "test48")
        #expect(bodies(full) == (1...10).map { "old \(run) \($0)" } + bulk)

        // Further back there is nothing of this run (a fresh server has nothing at all): no duplicates.
        let again = try await home.run(["history", server.jid("test48"), "--fetch", "--limit", "20"], timeout: .seconds(120))
        #expect(again.status == 0, "history --fetch: \(again.stderr)")
        #expect(bodies(try await history(home, with: "test48")) == (1...10).map { "old \(run) \($0)" } + bulk)
    }
}
