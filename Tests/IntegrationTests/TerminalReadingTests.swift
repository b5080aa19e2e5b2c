import Foundation
import Testing

@testable import Shell

/// Issue 15, reading: how lines look at a real (pseudo-)terminal against the real Prosody.
@Suite("Shell lines at a terminal", .serialized)
struct TerminalReadingTests {
    let server: TestServer

    init() throws { server = try .fromEnvironment() }

    @Test func a_long_message_wraps_at_sixty_columns_under_the_contacts_roster_name() async throws {
        let (me, bob, home) = try await server.freshAccountAndContact("wrap")
        let add = try await home.run(["add", server.jid(bob), "--name", "Bobby Tables"])
        #expect(add.status == 0, "\(add.stderr)")
        let shell = try TerminalShell(home: home, columns: 60, rows: 40, environment: ["LANG": "C.UTF-8"])
        try await shell.waitFor("[online]")
        let before = shell.mark
        let body = (1...40).map { "word\($0)" }.joined(separator: " ")
        try await Peer(server: server, user: bob).send(to: server.jid(me), body: body)
        let seen = try await shell.waitFor("the whole message", since: before) { $0.contains("word40") }
        let rows = seen.components(separatedBy: "\n")
        let first = try #require(rows.firstIndex { $0.contains("Bobby Tables: word1 ") }, "no line under the roster name:\n\(seen)")
        #expect(!rows[first].contains(server.jid(bob)), "the JID is left to /info: \(rows[first])")
        let indent = TerminalText.width(String(rows[first].prefix { $0 != "w" }))
        var messageRows = [rows[first]]
        for row in rows[(first + 1)...] {
            guard row.hasPrefix(String(repeating: " ", count: indent)) else { break }
            messageRows.append(row)
        }
        #expect(messageRows.count >= 5, "\(messageRows)")
        for row in messageRows { #expect(TerminalText.width(row) <= 60, "wider than 60: \(row)") }
        for row in messageRows.dropFirst() { #expect(row.dropFirst(indent).first != " ", "indented to the body: \(row)") }
        let words = messageRows.joined(separator: " ").split(separator: " ")
        #expect(words.suffix(40).joined(separator: " ") == body)
        await shell.quit()
    }

    @Test func an_outgoing_line_changes_its_mark_in_place_up_to_the_receipt() async throws {
        let (me, bob, home) = try await server.freshAccountAndContact("mark")
        let ready = NSTemporaryDirectory() + "tern-ready-\(UUID().uuidString)"
        let receiver = try Peer(server: server, user: bob).start(
            "receive", ["--from", server.jid(me), "--count", "1", "--timeout", "60", "--send-receipts", "--ready-file", ready])
        try await waitFor("the receiving peer") { FileManager.default.fileExists(atPath: ready) || !receiver.process.isRunning }
        let shell = try TerminalShell(home: home, columns: 80, rows: 40, environment: ["LANG": "C.UTF-8"])
        try await shell.waitFor("[online]")
        let before = shell.mark
        shell.type("/msg \(server.jid(bob)) are you there\r")
        try await shell.waitFor("me: are you there", since: before)
        // The line is printed once; the receipt's mark is then written over its slot (column 7)
        // by moving the cursor up to it, not by printing the line again.
        let delivered = try await shell.waitForRaw("the delivered mark written in place", since: before) { raw in
            raw.range(of: #"\x{1B}\[[0-9]+A\x{1B}\[7G✓✓\x{1B}\[[0-9]+B"#, options: .regularExpression) != nil
        }
        #expect(TerminalShell.plain(delivered).components(separatedBy: "me: are you there").count == 2, "printed once")
        _ = try await receiver.finish(timeout: .seconds(30))
        await shell.quit()
    }

    @Test func a_line_to_an_offline_contact_reaches_the_servers_ack() async throws {
        let (_, bob, home) = try await server.freshAccountAndContact("acked")
        let shell = try TerminalShell(home: home, columns: 80, rows: 40, environment: ["LANG": "C.UTF-8"])
        try await shell.waitFor("[online]")
        let before = shell.mark
        shell.type("/msg \(server.jid(bob)) see this later\r")
        // Offline, bob sends no receipt: the server's ack (XEP-0198) is as far as it goes.
        try await shell.waitForRaw("the acked mark written in place", since: before) { $0.contains("\u{1B}[7G✓ \u{1B}[") }
        await shell.quit()
    }

    @Test func beside_another_process_holding_the_connection_marks_follow_the_store() async throws {
        let (me, bob, home) = try await server.freshAccountAndContact("owner")
        let owner = try await home.startOwner()
        defer { owner.interrupt() }
        let ready = NSTemporaryDirectory() + "tern-ready-\(UUID().uuidString)"
        let receiver = try Peer(server: server, user: bob).start(
            "receive", ["--from", server.jid(me), "--count", "1", "--timeout", "60", "--send-receipts", "--ready-file", ready])
        try await waitFor("the receiving peer") { FileManager.default.fileExists(atPath: ready) || !receiver.process.isRunning }
        let shell = try TerminalShell(home: home, columns: 80, rows: 40, environment: ["LANG": "C.UTF-8"])
        try await shell.waitFor("holds the connection")
        let before = shell.mark
        shell.type("/msg \(server.jid(bob)) through the owner\r")
        try await shell.waitForRaw("the delivered mark written in place", since: before) { $0.contains("\u{1B}[7G✓✓\u{1B}[") }
        _ = try await receiver.finish(timeout: .seconds(30))
        await shell.quit()
    }

    @Test func piped_output_has_no_cursor_movement_colour_or_wrapping() async throws {
        let (_, bob, home) = try await server.freshAccountAndContact("piped")
        let long = String(repeating: "long words ", count: 20)
        let result = try await home.run(["shell"], stdin: "/offline\n/msg \(server.jid(bob)) \(long)\n/quit\n")
        let line = try #require(result.lines.first { $0.contains(" me: long words") }, "\(result.stdout)")
        #expect(!result.stdout.contains("\u{1B}"), "\(result.stdout)")
        #expect(line.count > 200, "not wrapped")
        #expect(line.contains(" ○  me: ") || line.contains(" .  me: "), "queued mark: \(line)")
    }
}

extension TerminalShell {
    /// Waits until the raw output since `mark` (escape sequences included) satisfies `condition`.
    @discardableResult
    func waitForRaw(_ what: String, since mark: Int, timeout: Duration = .seconds(30), _ condition: (String) -> Bool) async throws
        -> String
    {
        let deadline = ContinuousClock.now + timeout
        while true {
            let seen = String(raw.utf8.dropFirst(mark)) ?? raw
            if condition(seen) { return seen }
            guard ContinuousClock.now < deadline else {
                throw HarnessError("timed out waiting for \(what); the terminal got:\n\(seen.suffix(3000).debugDescription)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
