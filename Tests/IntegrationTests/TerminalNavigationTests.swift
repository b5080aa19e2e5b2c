import Foundation
import Testing

/// Moving around at a real (pseudo-)terminal (issue 15): `/list` with unread counts, `/c N`
/// and Alt-N, the unread marker, `/close`, and counts that outlive the shell.
@Suite("Shell navigation at a terminal", .serialized)
struct TerminalNavigationTests {
    let server: TestServer

    init() throws { server = try .fromEnvironment() }

    @Test func list_c_alt_n_close_and_unread_counts_that_survive_a_restart() async throws {
        let (me, bob, home) = try await server.freshAccountAndContact("nav")
        let carol = try await server.registerFresh("carol")
        let bobJID = server.jid(bob)
        let carolJID = server.jid(carol)
        var shell = try TerminalShell(home: home)
        try await shell.waitFor("[online]")

        let arrived = shell.mark
        try await Peer(server: server, user: bob).send(to: server.jid(me), body: "bob says {n}", count: 2)
        try await Peer(server: server, user: carol).send(to: server.jid(me), body: "carol says {n}", count: 3)
        try await shell.waitFor("carol's third line", since: arrived) { $0.contains("carol says 3") && $0.contains("bob says 2") }
        try await shell.waitFor("[unread 1:2 2:3]", since: arrived)

        // Newest first: carol, then bob; one line each, with the count and the last line.
        var typed = shell.mark
        shell.type("/list\r")
        let list = try await shell.waitFor("the list", since: typed) { $0.contains("2) \(bobJID)") && $0.contains("[unread 1:3 2:2]") }
        #expect(list.contains("1) \(carolJID)  3 unread  — "), "\(list)")
        #expect(list.contains(": carol says 3"), "\(list)")
        #expect(list.contains("2) \(bobJID)  2 unread  — "), "\(list)")

        // /c 2 opens bob: the marker, then what he sent; his count is gone from the prompt.
        typed = shell.mark
        shell.type("/c 2\r")
        let opened = try await shell.waitFor("bob's conversation", since: typed) { $0.contains("bob says 2") && $0.contains("[unread 1:3]") }
        let bobMarker = try #require(opened.range(of: "-- unread --"), "\(opened)")
        #expect(opened[bobMarker.upperBound...].contains("bob says 1"))

        // Alt-1 opens carol the same way, without typing (and without a line in the history).
        typed = shell.mark
        shell.type("\u{1B}1")
        let alt = try await shell.waitFor("carol's conversation", since: typed) { $0.contains("carol says 3") && $0.contains("\(carolJID)>") }
        #expect(alt.contains("-- unread --"), "\(alt)")

        // Nothing unread any more.
        typed = shell.mark
        shell.type("/list\r")
        let read = try await shell.waitFor("the list again", since: typed) { $0.contains("2) \(bobJID)") }
        #expect(!read.contains("unread"), "\(read)")
        #expect(read.contains("*1) \(carolJID)"), "the current one is marked: \(read)")

        // /close takes bob off the list; his history stays. A name not on the list closes nothing.
        try await shell.type("/close nobody@example.org\r", thenWaitFor: "nobody@example.org is not on the list")
        try await shell.type("/close 2\r", thenWaitFor: "closed \(bobJID)")
        typed = shell.mark
        shell.type("/list\r")
        let closed = try await shell.waitFor("the list without bob", since: typed) { $0.contains("1) \(carolJID)") }
        #expect(!closed.contains(bobJID), "\(closed)")
        typed = shell.mark
        shell.type("/history \(bobJID)\r")
        try await shell.waitFor("bob says 1", since: typed)
        await shell.quit()

        let history = try String(contentsOfFile: home.path + "/shell_history", encoding: .utf8)
        #expect(history.contains("/c 2") && !history.contains("/c 1"), "Alt-1 is not a typed line: \(history)")

        // While the shell is away both write again. After a restart the shell picks up carol,
        // the newest, showing what is new under the marker; bob is back on the list, unread.
        try await Peer(server: server, user: bob).send(to: server.jid(me), body: "bob again")
        try await Peer(server: server, user: carol).send(to: server.jid(me), body: "carol again")
        try await eventually("tern to store the new lines") {
            guard try await home.run(["sync"]).status == 0 else { return false }
            return try await home.historyJSON(with: carol).contains { $0["body"] as? String == "carol again" }
        }
        shell = try TerminalShell(home: home)
        let resumed = try await shell.waitFor("carol's new line") { $0.contains("carol again") }
        let marker = try #require(resumed.range(of: "-- unread --"), "\(resumed)")
        #expect(resumed[marker.upperBound...].contains("carol again") && !resumed[marker.upperBound...].contains("carol says 3"))
        try await shell.waitFor("[online]")
        typed = shell.mark
        shell.type("/list\r")
        let after = try await shell.waitFor("bob back on the list", since: typed) { $0.contains("2) \(bobJID)") }
        #expect(after.contains("2) \(bobJID)  1 unread"), "\(after)")
        #expect(after.contains("*1) \(carolJID)"), "\(after)")
        await shell.quit()
    }

    @Test func tern_conversations_lists_what_slash_list_shows_for_scripts() async throws {
        let (me, bob, home) = try await server.freshAccountAndContact("convs")
        let carol = try await server.registerFresh("carol")
        #expect(try await home.run(["add", server.jid(bob), "--name", "Bob"]).status == 0)
        try await Peer(server: server, user: bob).send(to: server.jid(me), body: "bob {n}", count: 2)
        try await Peer(server: server, user: carol).send(to: server.jid(me), body: "carol says hi")
        try await eventually("tern to store three lines") {
            _ = try await home.run(["sync"])
            let fromCarol = try await home.historyJSON(with: carol).count
            let fromBob = try await home.historyJSON(with: bob).count
            return fromCarol == 1 && fromBob == 2
        }
        let listed = try await home.run(["conversations", "--json"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let rows = Peer.messages(listed)
        #expect(rows.map { $0["conversation"] as? String } == [server.jid(carol), server.jid(bob)], "newest first: \(listed.stdout)")
        #expect(rows.map { $0["unread"] as? Int } == [1, 2])
        #expect(rows.map { $0["number"] as? Int } == [1, 2])
        #expect(rows.last?["name"] as? String == "Bob")
        #expect((rows.first?["last"] as? [String: Any])?["body"] as? String == "carol says hi")

        let plain = try await home.run(["conversations"])
        #expect(plain.lines.last?.hasPrefix("2) Bob (\(server.jid(bob)))  2 unread  — ") == true, "\(plain.stdout)")
        #expect(plain.lines.last?.hasSuffix("Bob: bob 2") == true, "\(plain.stdout)")

        let bothUnread = try await home.run(["conversations", "--unread", "--json"])
        #expect(Peer.messages(bothUnread).count == 2, "\(bothUnread.stdout)")

        // The shell opens carol's (the newest) where it left off, and /chat reads bob's: nothing is left unread.
        let shell = try TerminalShell(home: home)
        try await shell.waitFor("[online]")
        try await shell.type("/chat \(server.jid(bob))\r", thenWaitFor: "bob 2")
        await shell.quit()
        let unread = try await home.run(["conversations", "--unread", "--json"])
        #expect(unread.status == 0 && unread.stdout.isEmpty, "\(unread.stdout)")
        #expect(Peer.messages(try await home.run(["conversations", "--json"])).map { $0["unread"] as? Int } == [0, 0])
    }
}
