import Foundation
import Testing

/// The shell at a real (pseudo-)terminal against the real Prosody: what a user sees and types.
@Suite("Shell at a terminal", .serialized)
struct TerminalShellTests {
    let server: TestServer

    init() throws { server = try .fromEnvironment() }

    @Test func a_message_arriving_while_a_line_is_half_typed_leaves_the_line_intact() async throws {
        let (me, bob, home) = try await server.freshAccountAndContact("pty")
        let shell = try TerminalShell(home: home)
        try await shell.waitFor("[online]")
        let typed = shell.mark
        shell.type("/msg \(server.jid(bob)) half a li")
        try await shell.waitFor("half a li", since: typed)
        let beforeMessage = shell.mark
        try await Peer(server: server, user: bob).send(to: server.jid(me), body: "hello from bob")
        // The message appears above, then the prompt and the half-typed line are drawn again.
        try await shell.waitFor("the message, then the line again", since: beforeMessage) { seen in
            guard let message = seen.range(of: "hello from bob") else { return false }
            return seen[message.upperBound...].contains("half a li")
        }
        try await shell.type("ne\r", thenWaitFor: "half a line")
        await shell.quit()
        let history = try await home.historyJSON(with: bob)
        #expect(history.compactMap { $0["body"] as? String } == ["hello from bob", "half a line"])
    }

    @Test func a_message_elsewhere_rings_notifies_and_runs_the_notify_command_but_not_under_dnd() async throws {
        let (me, bob, home) = try await server.freshAccountAndContact("alert")
        let folder = NSTemporaryDirectory() + "tern-alert-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let script = folder + "/notify", calls = folder + "/calls"
        try "#!/bin/sh\nprintf '%s|' \"$@\" >> \(calls)\necho >> \(calls)\n".write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        #expect(try await home.run(["account", "set", "notify-command", script]).status == 0)
        #expect(try await home.run(["account", "set", "desktop-notify", "osc9"]).status == 0)

        let shell = try TerminalShell(home: home)
        try await shell.waitFor("[online]")
        try await shell.type("/chat \(server.jid("test30"))\r", thenWaitFor: "test30")  // another conversation is on screen
        let before = shell.mark
        try await Peer(server: server, user: bob).send(to: server.jid(me), body: "ping from bob")
        try await shell.waitFor("ping from bob", since: before)
        try await eventually("the notify command to run") { FileManager.default.fileExists(atPath: calls) }
        let raw = String(shell.raw.utf8.dropFirst(before)) ?? ""
        #expect(raw.contains("\u{07}"), "the bell rings")
        #expect(raw.contains("\u{1B}]9;"), "OSC 9 asks the terminal for a desktop notification")
        let call = try String(contentsOfFile: calls, encoding: .utf8)
        #expect(call.contains("ping from bob"), "title and text are the command's arguments: \(call)")

        // Under dnd nothing alerts: the line shows, the command does not run again.
        try await shell.type("/dnd\r", thenWaitFor: "[online]")
        let quiet = shell.mark
        try await Peer(server: server, user: bob).send(to: server.jid(me), body: "second ping")
        try await shell.waitFor("second ping", since: quiet)
        try await Task.sleep(for: .seconds(1))
        #expect(try String(contentsOfFile: calls, encoding: .utf8).split(separator: "\n").count == 1)
        #expect(!(String(shell.raw.utf8.dropFirst(quiet)) ?? "").contains("\u{07}"), "no bell under dnd")
        await shell.quit()
    }
}
