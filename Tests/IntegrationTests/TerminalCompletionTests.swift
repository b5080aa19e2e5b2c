import Foundation
import Store
import Testing

/// Tab and names at a real (pseudo-)terminal against the real Prosody: a contact completed
/// from its roster name, a nick of the current room, a path; double Tab lists, more Tabs
/// cycle; a name that names nobody is an error, and nothing is queued for it.
///
/// Readline redraws only what changed on the line, so after a Tab the tests press Ctrl-L
/// (clear-screen, which draws the whole line again) before looking for the completed line.
@Suite("Completion at a terminal", .serialized)
struct TerminalCompletionTests {
    let server: TestServer

    init() throws { server = try .fromEnvironment() }

    @Test func a_contact_completes_from_its_roster_name_double_tab_lists_more_tabs_cycle() async throws {
        let (me, bob, home) = try await server.freshAccountAndContact("tab")
        let bobJID = server.jid(bob)
        let zoltanJID = server.jid(server.freshUser("zoltan"))
        let added = try await home.run(["add", bobJID, "--name", "Zébédée"])
        #expect(added.status == 0, "\(added.stderr)")
        let shell = try TerminalShell(home: home)
        try await shell.waitFor("[online]")
        var mark = shell.mark
        shell.type("/add \(zoltanJID) Zoltan\r")
        try await shell.waitFor("Zoltan", since: mark)

        // One candidate: the name, typed without its accents, becomes the JID.
        try await shell.type("/msg zeb\t\u{0C}", thenWaitFor: "/msg \(bobJID) ")
        try await shell.type("hi by name\r", thenWaitFor: "hi by name")

        // Two candidates with nothing in common: the first Tab keeps the word, the second lists both.
        mark = shell.mark
        shell.type("/info z\t\t")
        try await shell.waitFor("both candidates listed", since: mark) { $0.contains(bobJID) && $0.contains(zoltanJID) }
        // Further Tabs put one candidate after the other in place (bob's JID sorts first).
        // Any other key (Ctrl-L too) ends the run of Tabs, so each count starts on a fresh line.
        shell.type("\u{15}")  // Ctrl-U: the line goes
        try await shell.type("/info z\t\t\t\u{0C}", thenWaitFor: "/info \(bobJID)")
        shell.type("\u{15}")
        try await shell.type("/info z\t\t\t\t\u{0C}", thenWaitFor: "/info \(zoltanJID)")
        shell.type("\u{15}")

        // A name that names nobody: one line, and nothing queued to a domain called "uy".
        let error = try await shell.type("/msg uy hi there\r", thenWaitFor: "no contact or room is called \"uy\"")
        #expect(error.contains("give a JID (user@domain), a roster name or a room's name"))
        await shell.quit()

        let history = try await home.historyJSON(with: bob)
        #expect(history.compactMap { $0["body"] as? String } == ["hi by name"])
        let store = try Store(directory: home.path)
        let account = try #require(try store.account(jid: server.jid(me)))
        #expect(try store.history(accountID: account.rowID, conversation: "uy", limit: 5).isEmpty)
        #expect(try store.outbox(accountID: account.rowID, includeFinished: true).allSatisfy { $0.recipient == bobJID })

        // The shells' completion scripts ask tern for stored JIDs the same way: `tern send z<Tab>`.
        for shell in ["bash", "zsh", "fish"] {
            let script = try await runProcess(ternBinary, ["--generate-completion-script", shell])
            #expect(script.status == 0 && script.stdout.contains("---completion send"), "\(shell)")
        }
        let asked = try await runProcess(
            ternBinary, ["---completion", "send", "--", "positional@0", "4", "1", "tern", "send", "--home", home.path, "z"])
        #expect(asked.lines == [zoltanJID])
    }

    @Test func a_nick_of_the_current_room_completes_and_addresses_the_occupant() async throws {
        let room = "tab-\(UUID().uuidString.prefix(8).lowercased())@conference.localhost"
        let (home, me) = try await server.registeredHome("tabroom")
        let peerUser = try await server.registerFresh("zorro")
        let until = NSTemporaryDirectory() + "tern-tab-until-\(UUID().uuidString)"
        defer { _ = FileManager.default.createFile(atPath: until, contents: Data()) }
        let zorro = try RoomPeer(server: server, user: peerUser, room: room, nick: "Zorro").start(
            ["--expect", "1", "--from-nick", me, "--until-file", until, "--timeout", "90"])
        try await zorro.waitReady()

        let shell = try TerminalShell(home: home)
        try await shell.waitFor("[online]")
        var mark = shell.mark
        shell.type("/join \(room) \(me)\r")
        try await shell.waitFor("-- joined \(room)", since: mark)
        // A command's nick argument.
        try await shell.type("/kick zo\t\u{0C}", thenWaitFor: "/kick Zorro ")
        shell.type("\u{15}")
        // A plain line's first word: the nick and a colon.
        mark = shell.mark
        shell.type("zor\t\u{0C}")
        try await shell.waitFor("Zorro: ", since: mark)
        shell.type("hello\r")
        try await shell.waitFor("Zorro: hello", since: mark)
        _ = FileManager.default.createFile(atPath: until, contents: Data())
        let result = try await zorro.finish()
        #expect(result.messages.compactMap { $0["body"] as? String } == ["Zorro: hello"])
        await shell.quit()
    }

    @Test func a_path_completes_and_help_wraps_at_sixty_columns() async throws {
        let folder = NSTemporaryDirectory() + "tern-tab-files-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder + "/photos", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: folder + "/report-2026.pdf", contents: Data("x".utf8)))
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let shell = try TerminalShell(home: TernHome(server), columns: 60)
        try await shell.waitFor("/help lists commands")
        var mark = shell.mark
        shell.type("/file \(folder)/rep\t\u{0C}")
        try await shell.waitFor("/file \(folder)/report-2026.pdf ", since: mark)
        shell.type("\u{15}")
        try await shell.type("/file \(folder)/ph\t\u{0C}", thenWaitFor: "/file \(folder)/photos/")
        mark = shell.mark
        shell.type("x\u{0C}")
        try await shell.waitFor("/file \(folder)/photos/x", since: mark)  // no space after a folder
        shell.type("\u{15}")

        let help = try await shell.type("/help\r", thenWaitFor: "/quit")
        let lines = help.split(separator: "\n").filter { $0.hasPrefix("  ") }
        #expect(lines.count > 40)
        #expect(lines.allSatisfy { $0.count <= 60 }, "\(lines.filter { $0.count > 60 })")
        #expect(help.contains("  /msg CONTACT [TEXT]"))
        await shell.quit()
    }
}
