import Foundation
import Store
import Testing
@testable import Sync
@testable import XMPP

/// XEP-0280 copies on a session: what reaches the Store, and what never does.
@Suite struct CarbonsFeatureTests {
    let me = try! JID("alice@example.org/tern.t")

    func message(_ attributes: [String: String], _ children: [Element]) -> Element {
        Element("message", namespace: NS.client, attributes: attributes, elements: children)
    }

    func body(_ text: String) -> Element { Element("body", namespace: NS.client, elements: [], text: text) }

    /// `original` wrapped as a `received` or `sent` copy, from `from`.
    func copy(_ kind: String, _ original: Element, from: String = "alice@example.org", type: String = "chat") -> Element {
        message(
            ["from": from, "to": me.description, "type": type],
            [Element(kind, namespace: NS.carbons, elements: [Element("forwarded", namespace: NS.forward, elements: [original])])])
    }

    func fromBob(_ text: String, id: String = "b1") -> Element {
        message(["from": "bob@example.org/phone", "to": "alice@example.org/laptop", "type": "chat", "id": id], [body(text)])
    }

    func fromOurPhone(_ text: String, id: String = "a1", extra: [Element] = []) -> Element {
        message(["from": "alice@example.org/phone", "to": "bob@example.org/desk", "type": "chat", "id": id], [body(text)] + extra)
    }

    /// A fresh store, an engine that never connects, and a context on it.
    func session() throws -> (Store, Account, SyncEngine, FeatureContext) {
        let store = try Store(directory: NSTemporaryDirectory() + "tern-carbons-\(UUID().uuidString)")
        let account = try store.saveAccount(Account(jid: "alice@example.org", resource: "tern.t", createdAt: Store.now), credential: nil)
        let engine = SyncEngine(store: store, account: account)
        let context = FeatureContext(store: store, account: account, boundJID: me, engine: engine, gate: SerialGate())
        return (store, account, engine, context)
    }

    @Test func record__sent_copy_is_our_outgoing_message_in_the_recipients_conversation() throws {
        let (_, account, _, _) = try session()
        let original = fromOurPhone("on my way", extra: [StanzaID.originID("orig-1")])
        let record = try #require(CarbonsFeature.record(for: .sent(original), account: account, ourJID: me, receivedAt: Date()))
        #expect(record.direction == .outgoing)
        #expect(record.conversation == "bob@example.org")
        #expect(record.sender == "alice@example.org/phone")
        #expect(record.recipient == "bob@example.org/desk")
        #expect(record.body == "on my way")
        #expect(record.dedupKey == "o:orig-1")
        #expect(record.originID == "orig-1")
        #expect(record.outboxID == nil)
        #expect(record.isRead)
    }

    @Test func record__sent_copy_without_origin_id_uses_the_incoming_scheme() throws {
        let (_, account, _, _) = try session()
        let record = try #require(CarbonsFeature.record(for: .sent(fromOurPhone("hi", id: "x9")), account: account, ourJID: me, receivedAt: Date()))
        #expect(record.dedupKey == "i:alice@example.org/x9")
        let stamped = message(
            ["from": "alice@example.org/phone", "to": "bob@example.org", "type": "chat"],
            [body("later"), Element("delay", namespace: NS.delay, attributes: ["stamp": "2024-01-02T03:04:05Z"])])
        let hashed = try #require(CarbonsFeature.record(for: .sent(stamped), account: account, ourJID: me, receivedAt: Date()))
        #expect(hashed.timestamp == 1_704_164_645)
        #expect(hashed.dedupKey == IncomingMessages.dedupKey(
            from: try JID("alice@example.org/phone"), id: nil, originID: nil, body: "later", timestamp: Date(timeIntervalSince1970: 1_704_164_645)))
    }

    @Test func record__received_copy_is_the_row_a_direct_message_makes() throws {
        let (_, account, _, _) = try session()
        let original = fromBob("hello")
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let viaCopy = try #require(CarbonsFeature.record(for: .received(original), account: account, ourJID: me, receivedAt: now))
        let direct = try #require(IncomingMessages.record(for: original, account: account, ourJID: me, receivedAt: now))
        #expect(viaCopy == direct)
        #expect(viaCopy.direction == .incoming)
        #expect(viaCopy.conversation == "bob@example.org")
    }

    @Test func record__copies_without_a_body_or_a_conversation_are_not_stored() throws {
        let (_, account, _, _) = try session()
        let composing = message(
            ["from": "alice@example.org/phone", "to": "bob@example.org", "type": "chat"],
            [Element("composing", namespace: NS.chatStates)])
        let receipt = message(
            ["from": "bob@example.org/phone", "to": "alice@example.org/phone"],
            [Element("received", namespace: NS.receipts, attributes: ["id": "r1"])])
        let empty = fromOurPhone("")
        let toSelf = message(["from": "alice@example.org/phone", "to": "alice@example.org", "type": "chat"], [body("note")])
        #expect(CarbonsFeature.record(for: .sent(composing), account: account, ourJID: me, receivedAt: Date()) == nil)
        #expect(CarbonsFeature.record(for: .received(receipt), account: account, ourJID: me, receivedAt: Date()) == nil)
        #expect(CarbonsFeature.record(for: .sent(empty), account: account, ourJID: me, receivedAt: Date()) == nil)
        #expect(CarbonsFeature.record(for: .sent(toSelf), account: account, ourJID: me, receivedAt: Date()) == nil)
    }

    @Test func handle__stores_both_kinds_once_and_announces_each_new_row() async throws {
        let (store, account, engine, context) = try session()
        let feature = CarbonsFeature()
        // The same message directly and as a copy, then a copy of our own reply, twice.
        let direct = try #require(IncomingMessages.record(for: fromBob("hello"), account: account, ourJID: me, receivedAt: Date()))
        _ = try store.insertMessages([direct])
        let reply = fromOurPhone("hi bob", extra: [StanzaID.originID("o-7")])
        try await feature.handle([copy("received", fromBob("hello")), copy("sent", reply), copy("sent", reply)], context)

        let history = try store.history(accountID: account.rowID, conversation: "bob@example.org")
        #expect(history.map(\.message.body) == ["hello", "hi bob"])
        #expect(history.map(\.message.direction) == [.incoming, .outgoing])

        // Everything announced before this marker came from handle().
        await engine.emit(.connection(.offline, detail: "marker"))
        var announced: [StoredMessage] = []
        for await event in engine.events {
            if case .message(let row) = event { announced.append(row) }
            if case .connection(_, "marker") = event { break }
        }
        #expect(announced.map(\.body) == ["hi bob"])
        #expect(announced.first?.id != nil)
    }

    @Test func handle__forged_and_groupchat_copies_store_nothing() async throws {
        let (store, account, _, context) = try session()
        let feature = CarbonsFeature()
        let forgedSent = copy("sent", fromOurPhone("i owe mallory money"), from: "mallory@evil.example")
        let fromOurResource = copy("received", fromBob("fake"), from: "alice@example.org/phone")
        let fromServer = copy("received", fromBob("fake"), from: "example.org")
        let inRoom = copy("received", fromBob("relayed"), type: "groupchat")
        let roomOriginal = copy("received", message(
            ["from": "room@muc.example.org/bob", "to": "alice@example.org/phone", "type": "groupchat"], [body("room talk")]))
        let stanzas = [forgedSent, fromOurResource, fromServer, inRoom, roomOriginal]
        for stanza in stanzas {
            #expect(feature.claims(stanza, context), "\(stanza)")
        }
        try await feature.handle(stanzas, context)
        for conversation in ["bob@example.org", "mallory@evil.example", "room@muc.example.org", "alice@example.org"] {
            #expect(try store.history(accountID: account.rowID, conversation: conversation).isEmpty, "\(conversation)")
        }
    }

    @Test func claims__copies_go_to_carbons_before_any_other_feature() throws {
        let (_, _, _, context) = try session()
        let forged = message(
            ["from": "mallory@evil.example/x", "type": "chat"],
            [body("outer body"), Element("sent", namespace: NS.carbons)])
        let features = SessionFeatures.make()
        let index = try #require(features.firstIndex { $0.claims(forged, context) })
        #expect(features[index] is CarbonsFeature)
        // Ordinary messages, <private/> ones included, stay on the chat path.
        let privateOne = message(
            ["from": "bob@example.org/phone", "type": "chat"], [body("secret"), Element("private", namespace: NS.carbons)])
        #expect(features.first { $0.claims(privateOne, context) } is ChatFeature)
        #expect(IncomingMessages.record(for: privateOne, account: context.account, ourJID: me, receivedAt: Date())?.body == "secret")
    }
}
