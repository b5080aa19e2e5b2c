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
        let sent = shell.mark
        shell.type("ne\r")
        try await shell.waitFor("half a line", since: sent)
        await shell.quit()
        let history = try await home.historyJSON(with: bob)
        #expect(history.compactMap { $0["body"] as? String } == ["hello from bob", "half a line"])
    }
}
