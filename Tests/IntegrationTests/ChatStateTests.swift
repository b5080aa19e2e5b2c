import Foundation
import Store
import Testing

/// XEP-0085 against Prosody with slixmpp as the contact: its typing reaches the owning tern
/// as an event (JSON for scripts, the prompt in the shell) and is never stored.
@Suite struct ChatStateTests {
    let server: TestServer

    init() throws {
        server = try TestServer.fromEnvironment()
    }

    @Test func a_contacts_typing_is_an_event_never_a_message() async throws {
        let (me, bob, home) = try await server.freshAccountAndContact("states")
        let owner = try await home.startOwner()
        defer { owner.interrupt() }
        for state in ["composing", "paused"] {
            let sent = try await Peer(server: server, user: bob).run("chat-state", ["--to", server.jid(me), "--state", state])
            #expect(sent.status == 0, "\(sent.stderr)")
        }
        try await eventually("both states as events") {
            let lines = owner.output().stdout
            return lines.contains("\"event\":\"chat-state\",\"jid\":\"\(server.jid(bob))\",\"state\":\"composing\"")
                && lines.contains("\"event\":\"chat-state\",\"jid\":\"\(server.jid(bob))\",\"state\":\"paused\"")
        }
        owner.interrupt()
        _ = try await owner.finish(timeout: .seconds(20))
        #expect(try await home.historyJSON(with: bob).isEmpty, "a state is not a message")
    }
}
