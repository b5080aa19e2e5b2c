import Foundation
import Store
import Synchronization
import Testing
import XMPP

@testable import Sync

/// The engine over an in-memory link (`EmbeddedTransport`): what it stores, answers and
/// acknowledges (XEP-0198 §4: only after the commit), without a server.
@Suite struct SyncEngineTests {
    let store: Store
    let account: Account
    let me = "alice@example.org"
    let room = "tea@rooms.example.org"

    init() throws {
        store = try Store(directory: NSTemporaryDirectory() + "tern-engine-\(UUID().uuidString)")
        account = try store.saveAccount(Account(jid: me, resource: "t", createdAt: 0), credential: nil)
    }

    /// An engine logged in over a fresh in-memory link.
    func online() async throws -> (SyncEngine, EmbeddedTransport) {
        let link = EmbeddedTransport(boundJID: try JID("\(me)/t"))
        let engine = SyncEngine(store: store, account: account, password: "unused") { $0.embedded = link }
        _ = try await engine.connect()
        return (engine, link)
    }

    func ackRequest() -> Element { Element("r", namespace: NS.sm) }

    func chat(_ body: String, id: String, from: String = "bob@example.org/phone", receipt: Bool = false) -> Element {
        var children = [Element("body", namespace: NS.client, attributes: [:], elements: [], text: body)]
        if receipt { children.append(Element("request", namespace: NS.receipts)) }
        return Element(
            "message", namespace: NS.client, attributes: ["type": "chat", "id": id, "from": from, "to": "\(me)/t"],
            elements: children)
    }

    func bodies(with peer: String = "bob@example.org") throws -> [String] {
        try store.history(accountID: account.rowID, conversation: peer).map(\.message.body)
    }

    /// Every insert into `table` fails as a broken Store does ("no such table"), not as a refused row.
    func breakWrites(to table: String) throws {
        try store.write { db in
            try db.execute(sql: """
                CREATE TABLE test_gone(x);
                CREATE TRIGGER test_broken BEFORE INSERT ON \(table) BEGIN INSERT INTO test_gone VALUES (1); END;
                DROP TABLE test_gone;
                """)
        }
    }

    /// The client answered the server's `<r/>` with this `h`, or nil when it did not.
    func ackWritten(_ link: EmbeddedTransport, timeout: Duration = .seconds(30)) async -> String? {
        await link.waitForWrite(timeout: timeout) { $0.matches("a", NS.sm) }?["h"]
    }

    @Test func a_chat_message__is_stored_then_acknowledged() async throws {
        let (engine, link) = try await online()
        link.receive([chat("hello", id: "m1"), ackRequest()])
        #expect(await ackWritten(link) == "1")
        #expect(try bodies() == ["hello"])
        await engine.dropLink()
    }

    @Test func a_receipt_request__is_answered_once_the_message_is_stored() async throws {
        let (engine, link) = try await online()
        link.receive([chat("ping me", id: "m7", receipt: true)])
        let receipt = await link.waitForWrite { $0.matches("message", NS.client) && $0.child("received", namespace: NS.receipts) != nil }
        #expect(receipt?["to"] == "bob@example.org/phone")
        #expect(receipt?.child("received", namespace: NS.receipts)?["id"] == "m7")
        #expect(try bodies() == ["ping me"])
        await engine.dropLink()
    }

    @Test func a_receipt_request_in_a_carbon_or_without_a_body__is_not_answered() async throws {
        let (engine, link) = try await online()
        let bodiless = Element(
            "message", namespace: NS.client, attributes: ["type": "chat", "id": "s1", "from": "bob@example.org/phone"],
            elements: [Element("request", namespace: NS.receipts)])
        link.receive([bodiless, chat("after", id: "m2"), ackRequest()])
        #expect(await ackWritten(link) == "2")
        #expect(link.writtenElements.allSatisfy { $0.child("received", namespace: NS.receipts) == nil })
        await engine.dropLink()
    }

    @Test func an_iq_ping__is_answered__and_disco_lists_every_feature() async throws {
        let (engine, link) = try await online()
        link.receive([
            Element(
                "iq", namespace: NS.client, attributes: ["type": "get", "id": "p1", "from": "example.org"],
                elements: [Element("ping", namespace: NS.ping)]),
            Element(
                "iq", namespace: NS.client, attributes: ["type": "get", "id": "d1", "from": "bob@example.org/phone"],
                elements: [Element("query", namespace: NS.discoInfo)]),
        ])
        let pong = await link.waitForWrite { $0.matches("iq", NS.client) && $0["id"] == "p1" }
        #expect(pong?["type"] == "result")
        #expect(pong?["to"] == "example.org")
        let info = await link.waitForWrite { $0.matches("iq", NS.client) && $0["id"] == "d1" }
        let features = info?.child("query", namespace: NS.discoInfo)?.children("feature", namespace: NS.discoInfo).compactMap { $0["var"] } ?? []
        for feature in [NS.ping, NS.receipts, NS.discoInfo, NS.version, Correction.namespace] {
            #expect(features.contains(feature), "\(feature) in \(features)")
        }
        await engine.dropLink()
    }

    @Test func a_store_that_cannot_write_a_chat_message__drops_the_link_unacknowledged() async throws {
        let (engine, link) = try await online()
        try breakWrites(to: "message")
        link.receive([chat("lost?", id: "m1", receipt: true), ackRequest()])
        try await waitUntil { link.abortReason != nil }
        guard case .storeFailed(let why)? = link.abortReason else {
            Issue.record("dropped for \(String(describing: link.abortReason))")
            return
        }
        #expect(why.contains("no such table"), "\(why)")
        #expect(link.writtenElements.allSatisfy { !$0.matches("a", NS.sm) }, "nothing acknowledged")
        #expect(link.writtenElements.allSatisfy { $0.child("received", namespace: NS.receipts) == nil }, "nothing answered")
        _ = engine
    }

    /// A feature's commit (a roster push) that fails: the same as the chat path's.
    @Test func a_roster_push_the_store_cannot_write__drops_the_link_unacknowledged_and_unanswered() async throws {
        let (engine, link) = try await online()
        try breakWrites(to: "contact")
        let push = Element(
            "iq", namespace: NS.client, attributes: ["type": "set", "id": "push1"],
            elements: [Element("query", namespace: NS.roster, elements: [
                Element("item", namespace: NS.roster, attributes: ["jid": "carol@example.org", "subscription": "both"])
            ])])
        link.receive([push, ackRequest()])
        try await waitUntil { link.abortReason != nil }
        guard case .storeFailed? = link.abortReason else {
            Issue.record("dropped for \(String(describing: link.abortReason))")
            return
        }
        #expect(link.writtenElements.allSatisfy { !$0.matches("a", NS.sm) }, "nothing acknowledged")
        #expect(link.writtenElements.allSatisfy { $0["id"] != "push1" }, "the push is not answered: it comes again")
        _ = engine
    }

    @Test func a_room_message_the_store_cannot_write__drops_the_link_unacknowledged() async throws {
        _ = try store.wantRoom(accountID: account.rowID, jid: room, nick: "alice", autojoin: false)
        try store.setRoomState(accountID: account.rowID, jid: room, state: .joined, joinedNick: "alice")
        let (engine, link) = try await online()
        let message = Element(
            "message", namespace: NS.client, attributes: ["type": "groupchat", "id": "g1", "from": "\(room)/bob"],
            elements: [Element("body", namespace: NS.client, attributes: [:], elements: [], text: "hi all")])
        link.receive([message, ackRequest()])
        #expect(await ackWritten(link) == "1", "a healthy Store: stored and acknowledged")
        #expect(try bodies(with: room) == ["hi all"])

        try breakWrites(to: "message")
        link.receive([message, ackRequest()].map { $0 })
        try await waitUntil { link.abortReason != nil }
        guard case .storeFailed? = link.abortReason else {
            Issue.record("dropped for \(String(describing: link.abortReason))")
            return
        }
        #expect(link.writtenElements.filter { $0.matches("a", NS.sm) }.map { $0["h"] } == ["1"], "the second burst is not acknowledged")
        _ = engine
    }

    /// A row the Store refuses (what a peer sent) costs that row, not the link.
    @Test func a_message_the_store_refuses__is_dropped_and_reported__the_burst_acknowledged() async throws {
        let (engine, link) = try await online()
        try store.write { db in
            try db.execute(sql: """
                CREATE TRIGGER test_refuse BEFORE INSERT ON message WHEN NEW.body = 'refuse me'
                BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
                """)
        }
        link.receive([chat("keep 1", id: "k1"), chat("refuse me", id: "k2"), chat("keep 2", id: "k3"), ackRequest()])
        #expect(await ackWritten(link) == "3")
        #expect(try bodies() == ["keep 1", "keep 2"])
        #expect(link.abortReason == nil)
        await engine.dropLink()
    }

    /// The flusher: queued rows written, marked sent, and acked once the server confirms them.
    @Test func the_outbox__is_written_and_moves_to_acked_on_the_servers_ack() async throws {
        let item = try Outbox.enqueueChat(store: store, account: account, to: "bob@example.org", body: "from the outbox")
        let (engine, link) = try await online()
        #expect(await engine.flush() == 1)
        let sent = await link.waitForWrite { $0.matches("message", NS.client) && $0["id"] == item.id }
        #expect(sent?.child("body", namespace: NS.client)?.text == "from the outbox")
        #expect(try store.outboxItems(ids: [item.id])[item.id]?.state == .sent)
        link.receive([Element("a", namespace: NS.sm, attributes: ["h": "1"])])
        try await waitUntil { (try? store.outboxItems(ids: [item.id])[item.id]?.state) == .acked }
        await engine.dropLink()
    }

    /// XEP-0184 §5.2: a receipt from whom we wrote to marks the row delivered; the same id
    /// from anyone else changes nothing.
    @Test func a_receipt_for_an_outbox_row__from_its_recipient_only__marks_it_delivered() async throws {
        let item = try Outbox.enqueueChat(store: store, account: account, to: "bob@example.org", body: "did you get this?")
        let (engine, link) = try await online()
        await engine.flush()
        func receipt(from: String) -> Element {
            Element(
                "message", namespace: NS.client, attributes: ["from": from, "id": UUID().uuidString],
                elements: [Element("received", namespace: NS.receipts, attributes: ["id": item.id])])
        }
        link.receive([receipt(from: "mallory@evil.example/x"), ackRequest()])
        #expect(await ackWritten(link) == "1")
        #expect(try store.outboxItems(ids: [item.id])[item.id]?.state == .sent)
        link.receive([receipt(from: "bob@example.org/phone")])
        try await waitUntil { (try? store.outboxItems(ids: [item.id])[item.id]?.state) == .delivered }
        await engine.dropLink()
    }

    /// Claims go to the first feature that wants a stanza; observers see the burst after every
    /// claimed stanza is handled; a failed commit stops the burst before any observer.
    @Test func dispatch__claims_in_order__observers_after__a_throw_stops_the_burst() async throws {
        let journal = Journal()
        let engine = SyncEngine(store: store, account: account)
        let context = FeatureContext(store: store, account: account, boundJID: try JID("\(me)/t"), engine: engine, gate: SerialGate())
        let burst = [chat("one", id: "1"), Element("iq", namespace: NS.client, attributes: ["type": "result", "id": "b1"]), chat("two", id: "2")]
        let answers = try await SessionFeatures.dispatch(
            burst, to: [Claimer(name: "first", journal: journal), Claimer(name: "second", journal: journal), Watcher(journal: journal)], context)
        #expect(journal.entries == ["first handled 1,2", "watched 1,b1,2"])
        #expect(answers == ["b1"], "an unclaimed iq result may answer a barrier")

        let failing = Journal()
        await #expect(throws: TestStoreFailure.self) {
            _ = try await SessionFeatures.dispatch(
                burst, to: [Claimer(name: "broken", journal: failing, fails: true), Watcher(journal: failing)], context)
        }
        #expect(failing.entries == ["broken handled 1,2"], "no observer runs after a failed commit")
    }

    func waitUntil(timeout: Duration = .seconds(30), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out")
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

private struct TestStoreFailure: Error {}

private final class Journal: Sendable {
    private let lines = Mutex<[String]>([])
    var entries: [String] { lines.withLock { $0 } }
    func add(_ line: String) { lines.withLock { $0.append(line) } }
}

private struct Claimer: SessionFeature {
    let name: String
    let journal: Journal
    var fails = false
    var discoFeatures: [String] { [] }

    func claims(_ stanza: Element, _ context: FeatureContext) -> Bool { stanza.name == "message" }

    func handle(_ stanzas: [Element], _ context: FeatureContext) async throws {
        journal.add("\(name) handled " + stanzas.compactMap { $0["id"] }.joined(separator: ","))
        if fails { throw TestStoreFailure() }
    }
}

private struct Watcher: SessionFeature {
    let journal: Journal
    var discoFeatures: [String] { [] }

    func observes(_ stanza: Element, _ context: FeatureContext) -> Bool { true }

    func observe(_ stanzas: [Element], _ context: FeatureContext) async throws {
        journal.add("watched " + stanzas.compactMap { $0["id"] }.joined(separator: ","))
    }
}
