/// XEP-0085: reading a state and building a standalone notification (§5.5).
import Testing
@testable import XMPP

@Suite struct ChatStatesXEPTests {
    @Test func xep__parse_and_notification() throws {
        let message = try parseElement("<message type='chat'><body>x</body><composing xmlns='http://jabber.org/protocol/chatstates'/></message>")
        #expect(ChatState(in: message) == .composing)
        #expect(ChatState(in: try parseElement("<message><body>x</body></message>")) == nil)
        let note = ChatState.paused.notification(to: try JID("bob@example.org"), id: "n1")
        #expect(note["type"] == "chat" && note.child("body", namespace: NS.client) == nil)
        #expect(note.child("paused", namespace: ChatState.namespace) != nil)
        #expect(note.child("no-store", namespace: "urn:xmpp:hints") != nil)
    }
}
