import Foundation
import Store
import Testing
import XMPP

@testable import Sync

/// XEP-0085 through the engine over the in-memory link: a contact's state reaches the UI and
/// is never stored; ours go only to a contact known to take them, and only while online.
extension SyncEngineTests {
    func standalone(_ state: ChatState, from: String, type: String = "chat") -> Element {
        Element("message", namespace: NS.client, attributes: ["type": type, "from": from, "to": "\(me)/t", "id": UUID().uuidString],
                elements: [state.element])
    }

    @Test func a_contacts_state__reaches_the_ui_unstored_and_lets_ours_go_to_it() async throws {
        let (engine, link) = try await online()
        // Carol never sent a state and advertises none: nothing goes to her.
        await engine.sendChatState(.composing, to: "carol@example.org")
        link.receive([
            standalone(.composing, from: "bob@example.org/phone"),
            standalone(.composing, from: "tea@rooms.example.org/bob", type: "groupchat"),
        ])
        var seen: [(String, ChatState)] = []
        for await event in engine.events {
            if case .chatState(let jid, let state) = event { seen.append((jid, state)); break }
        }
        #expect(seen.map(\.0) == ["bob@example.org"])
        #expect(seen.map(\.1) == [.composing])
        #expect(try store.history(accountID: account.rowID, conversation: "bob@example.org").isEmpty)

        await engine.sendChatState(.paused, to: "bob@example.org")
        let sent = await link.waitForWrite { $0.child("paused", namespace: ChatState.namespace) != nil }
        #expect(sent?["to"] == "bob@example.org")
        #expect(await link.waitForWrite(timeout: .milliseconds(300)) { $0["to"] == "carol@example.org" } == nil)
        await engine.dropLink()
        // Offline, nothing is queued.
        await engine.sendChatState(.active, to: "bob@example.org")
        #expect(try store.queuedCount(accountID: account.rowID) == 0)
    }

    @Test func a_message_we_write_to_a_contact_carries_active() throws {
        let item = try Outbox.enqueueChat(store: store, account: account, to: "bob@example.org", body: "hi")
        #expect(item.stanza.contains("<active xmlns='http://jabber.org/protocol/chatstates'/>"), "\(item.stanza)")
    }
}

@Suite struct ChatStatePeersTests {
    @Test func the_set_of_peers_stays_bounded_whoever_sends_states() async {
        let peers = ChatStatePeers()
        for n in 0..<(ChatStatePeers.capacity + 10) { await peers.add("stranger\(n)@example.org") }
        #expect(await peers.supports("stranger\(ChatStatePeers.capacity + 9)@example.org"))
        #expect(await !peers.supports("stranger0@example.org"), "the oldest were let go")
    }
}
