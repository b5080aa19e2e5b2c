import Foundation
import GRDB
import Store
import Sync
import Testing

/// Issue 12 §2 (edits) and §3 (export) end to end: the slixmpp peer corrects and retracts
/// through the real Prosody; tern's shell corrects and retracts; `tern export` writes what is stored.
@Suite struct HistoryEditsTests {
    let server: TestServer

    init() throws {
        server = try TestServer.fromEnvironment()
    }

    private func peer(_ user: String) -> Peer { Peer(server: server, user: user) }

    /// `peer.py send` with extra options (an id, `--replace`, `--retract`).
    private func send(from user: String, to: String, body: String, _ extra: [String]) async throws {
        let common = ["--jid", server.jid(user), "--password", server.password(user), "--host", server.host,
                      "--port", String(server.port), "--ca", server.caFile]
        let result = try await runProcess(
            "/usr/bin/env", ["python3", server.peerScript, "send"] + common + ["--to", to, "--body", body] + extra)
        guard result.status == 0 else { throw HarnessError("peer send failed: \(result.stderr)") }
    }

    /// Row ids the search index finds for a word (FTS5 through the Store, no sqlite3 tool).
    private func indexed(_ home: TernHome, _ word: String) throws -> [Int64] {
        let store = try Store(directory: home.path)
        try store.catchUpSearchIndex()
        return try store.read { db in
            try Int64.fetchAll(db, sql: "SELECT rowid FROM message_fts WHERE message_fts MATCH ?", arguments: [word])
        }
    }

    @Test func peer_correction_and_retraction__apply_only_from_the_original_sender() async throws {
        let (me, bob, home) = try await server.freshAccountAndContact("edits")
        let mallory = try await server.registerFresh("mallory")
        try await send(from: bob, to: server.jid(me), body: "teh quick fox", ["--id", "bob-1"])
        try await send(from: bob, to: server.jid(me), body: "the quick fox", ["--id", "bob-2", "--replace", "bob-1"])
        // Mallory names Bob's id: in her own conversation it matches nothing of hers, so it is a message.
        try await send(from: mallory, to: server.jid(me), body: "mallory rewrites", ["--id", "mal-1", "--replace", "bob-1"])
        let sync = try await home.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")

        var history = try await home.historyJSON(with: bob)
        #expect(history.map { $0["body"] as? String } == ["the quick fox"], "\(history)")
        #expect(history.first?["edited"] as? Bool == true)
        let rowID = try #require(history.first?["id"] as? Int)
        #expect(try indexed(home, "teh").isEmpty, "the old text left the index")
        #expect(try indexed(home, "the") == [Int64(rowID)])
        #expect(try await home.historyJSON(with: mallory).map { $0["body"] as? String } == ["mallory rewrites"])

        // A retraction names the original's origin-id (peer.py uses the stanza id).
        try await send(from: mallory, to: server.jid(me), body: "fallback", ["--id", "mal-2", "--retract", "bob-1"])
        try await send(from: bob, to: server.jid(me), body: "fallback", ["--id", "bob-3", "--retract", "bob-1"])
        let again = try await home.run(["sync"])
        #expect(again.status == 0, "\(again.stderr)")
        history = try await home.historyJSON(with: bob)
        #expect(history.count == 1, "the retraction's fallback body is not stored: \(history)")
        #expect(history.first?["body"] as? String == "")
        #expect(history.first?["retracted"] as? Bool == true)
        #expect(try indexed(home, "quick").isEmpty)
        #expect(try await home.run(["history", server.jid(bob)]).stdout.contains("(retracted)"))
        let mallorys = try await home.historyJSON(with: mallory).map { $0["body"] as? String }
        #expect(mallorys == ["mallory rewrites"], "her retraction of Bob's message changed nothing: \(mallorys)")
    }

    @Test func our_correction_from_another_client__applies_from_the_archive_and_from_carbons() async throws {
        let (me, bob, home) = try await server.freshAccountAndContact("selfedit")
        // tern offline: our other client's message and its correction come back from our archive (MAM).
        try await send(from: me, to: server.jid(bob), body: "archvied draft", ["--id", "self-1"])
        try await send(from: me, to: server.jid(bob), body: "archived final", ["--id", "self-2", "--replace", "self-1"])
        #expect(try await home.run(["sync"]).status == 0)
        var history = try await home.historyJSON(with: bob)
        #expect(history.map { $0["body"] as? String } == ["archived final"], "\(history)")
        #expect(history.first?["direction"] as? String == "out")
        #expect(history.first?["edited"] as? Bool == true)

        // tern online: the same arrive as sent carbons (XEP-0280).
        let owner = try await home.startOwner()
        defer { owner.interrupt() }
        try await send(from: me, to: server.jid(bob), body: "live draft", ["--id", "self-3"])
        try await send(from: me, to: server.jid(bob), body: "live final", ["--id", "self-4", "--replace", "self-3"])
        try await eventually("the carbon of the correction to be applied") {
            history = try await home.historyJSON(with: bob)
            return history.last?["body"] as? String == "live final"
        }
        #expect(history.map { $0["body"] as? String } == ["archived final", "live final"])
        #expect(history.last?["edited"] as? Bool == true)
    }

    @Test func shell_correct_and_retract__reach_the_peer_with_their_elements() async throws {
        let (me, bob, home) = try await server.freshAccountAndContact("shelledit")
        let receiver = try await peer(bob).startReceivingWhenReady(from: server.jid(me), count: 3)
        let shell = try await home.run([], stdin: "/chat \(server.jid(bob))\nhelo wrld\n/correct hello world\n/retract\n/quit\n")
        #expect(shell.status == 0, "\(shell.stderr)")
        #expect(shell.stdout.contains("hello world (edited)"), "\(shell.stdout)")
        #expect(shell.stdout.contains("(retracted)"), "\(shell.stdout)")
        let got = Peer.messages(try await receiver.finish(timeout: .seconds(60)))
        #expect(got.count == 3, "\(got)")
        guard got.count == 3 else { return }
        let originalID = try #require(got[0]["id"] as? String)
        #expect(got[0]["body"] as? String == "helo wrld")
        #expect(got[1]["body"] as? String == "hello world")
        #expect(got[1]["replace"] as? String == originalID)
        #expect(got[2]["retract"] as? String == got[0]["origin_id"] as? String)
        #expect((got[2]["body"] as? String)?.contains("retract") == true, "a fallback body for clients without support")
        let history = try await home.historyJSON(with: bob)
        #expect(history.count == 1, "\(history)")
        #expect(history.first?["retracted"] as? Bool == true)
    }

    /// Prosody 0.12 stamps XEP-0421 occupant-ids (its muc/occupant_id.lib.lua, on by default) and
    /// advertises them: a nick that changes hands does not carry the right to edit with it.
    @Test func room_edits__follow_the_occupant_id_not_the_nick() async throws {
        let tern = try await server.registerFresh("roomedit")
        let bob = try await server.registerFresh("bob")
        let mallory = try await server.registerFresh("mallory")
        let room = "edits-\(UUID().uuidString.prefix(8).lowercased())@conference.localhost"
        let (store, account, engine, running) = try await server.runningEngine(tern, resource: "edits")
        defer { running.cancel() }
        _ = try store.wantRoom(accountID: account.rowID, jid: room, nick: "tern", password: nil, autojoin: false)
        await engine.retryNow()
        try await waitFor("the join") { (try? store.room(accountID: account.rowID, jid: room))??.state == .joined }
        // We created the room, so its features are asked once the join is done.
        try await waitFor("the room's XEP-0421 feature") {
            (try? store.room(accountID: account.rowID, jid: room))??.occupantIDs == true
        }
        func roomRows() -> [StoredMessage] {
            ((try? store.history(accountID: account.rowID, conversation: room, limit: 50)) ?? []).map(\.message)
        }
        func post(_ user: String, nick: String, _ body: String, _ extra: [String]) async throws {
            let result = try await RoomPeer(server: server, user: user, room: room, nick: nick).run(["--post", body] + extra)
            #expect(result.status == 0, "\(result.stderr)")
        }

        try await post(bob, nick: "x", "the original", ["--post-id", "bob-1"])
        try await waitFor("Bob's message") { roomRows().count == 1 }
        // Bob has left; Mallory takes his nick and tries to correct and retract his message. (A
        // retraction names the room's stanza-id, XEP-0424 §5; tern trusts those only from a room it
        // found archived before joining, not one it created, so she names the id Bob gave it.)
        try await post(mallory, nick: "x", "mallory's version", ["--post-id", "mal-1", "--replace", "bob-1"])
        try await post(mallory, nick: "x", "fallback", ["--post-id", "mal-2", "--retract", "bob-1"])
        try await waitFor("Mallory's correction, kept as her own message") { roomRows().count == 2 }
        // Bob, back under another nick, corrects it: the same occupant-id.
        try await post(bob, nick: "y", "the corrected original", ["--post-id", "bob-2", "--replace", "bob-1"])
        try await waitFor("Bob's correction") { roomRows().first?.body == "the corrected original" }

        let rows = try store.read { db in
            try StoredMessage.fetchAll(db, sql: "SELECT * FROM message WHERE conversation = ? ORDER BY id", arguments: [room])
        }
        #expect(rows.map(\.body) == ["the corrected original", "mallory's version"])
        #expect(rows.first?.retractedAt == nil, "Mallory's retraction changed nothing")
        #expect(rows.first?.editedAt != nil)
        let bobsID = try #require(rows.first?.occupantID)
        #expect(rows.last?.occupantID != nil && rows.last?.occupantID != bobsID)
        // We created the room, so we moderate it: Prosody shows us real JIDs (whois = moderators).
        #expect(rows.first?.senderRealJID == server.jid(bob))
    }

    @Test func export__writes_a_conversation_as_json_lines_and_as_an_escaped_transcript() async throws {
        let (me, bob, home) = try await server.freshAccountAndContact("export")
        try await peer(bob).send(to: server.jid(me), body: "# not a heading, *not bold*\n**\(me)** (00:00): forged")
        try await peer(bob).send(to: server.jid(me), body: "/me waves")
        #expect(try await home.run(["sync"]).status == 0)

        let jsonl = try await home.run(["export", server.jid(bob)])
        #expect(jsonl.status == 0, "\(jsonl.stderr)")
        let history = try await home.run(["history", server.jid(bob), "--json"])
        #expect(jsonl.stdout == history.stdout, "the same message objects as history --json")
        #expect(jsonl.lines.count == 2)

        let file = NSTemporaryDirectory() + "tern-export-\(UUID().uuidString).md"
        defer { unlink(file) }
        let markdown = try await home.run(["export", server.jid(bob), "--format", "md", "--output", file])
        #expect(markdown.status == 0, "\(markdown.stderr)")
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text.hasPrefix("# \(server.jid(bob))\n\n## "), "\(text)")
        #expect(text.contains("**\(server.jid(bob))** ("), "\(text)")
        #expect(text.contains("): \\# not a heading, \\*not bold\\*\\\n\\*\\*\(me)\\*\\* (00:00): forged\n"), "\(text)")
        #expect(text.contains("\\* **\(server.jid(bob))** (") && text.contains(") waves\n"), "\(text)")
        let lines = text.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("**") }.count == 1, "only the real message line starts bold: \(text)")

        let refused = try await home.run(["export", server.jid(bob), "--output", file])
        #expect(refused.status == 1)
        #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        #expect(try String(contentsOfFile: file, encoding: .utf8) == text, "the existing file is untouched")
        let forced = try await home.run(["export", server.jid(bob), "--output", file, "--force"])
        #expect(forced.status == 0)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == jsonl.stdout)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())
            .filter { $0.hasPrefix("." + URL(fileURLWithPath: file).lastPathComponent) }
        #expect(leftovers.isEmpty, "no temporary file left: \(leftovers)")

        let badDate = try await home.run(["export", "--after", "yesterday"])
        #expect(badDate.status == 64)
        #expect(badDate.stderr.split(separator: "\n").count == 1)
        let all = try await home.run(["export", "--after", "2000-01-01"])
        #expect(all.lines.count == 2, "every conversation: \(all.stdout)")
    }
}
