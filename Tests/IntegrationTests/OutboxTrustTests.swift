import Foundation
import Store
import Sync
import Testing
import XMPP

/// DESIGN §6 trust checks: a receipt (XEP-0184) or a message error (RFC 6120 §8.3) settles one of
/// our outbox rows only when it comes from the JID we wrote to; knowing the id is not enough.
@Suite struct OutboxTrustTests {
    let server: TestServer

    init() throws {
        server = try TestServer.fromEnvironment()
    }

    func receipt(to: JID, for id: String) -> Element {
        Element("message", namespace: NS.client, attributes: ["to": to.description, "id": UUID().uuidString],
                elements: [Element("received", namespace: NS.receipts, attributes: ["id": id])])
    }

    func bounce(to: JID, for id: String) -> Element {
        Element("message", namespace: NS.client, attributes: ["to": to.description, "id": id, "type": "error"],
                elements: [Element("error", namespace: NS.client, attributes: ["type": "cancel"],
                                   elements: [Element("item-not-found", namespace: NS.stanzas)])])
    }

    @Test func receipts_and_errors__from_a_third_party__leave_our_outbox_alone() async throws {
        let (store, account, engine, running) = try await server.runningEngine("test57", resource: "tern.trust")
        defer { running.cancel() }

        let toReceipt = try Outbox.enqueueChat(store: store, account: account, to: server.jid("test58"), body: "one")
        let toBounce = try Outbox.enqueueChat(store: store, account: account, to: server.jid("test58"), body: "two")
        await engine.flush()
        try await waitFor("the server to confirm both rows (XEP-0198)") {
            [toReceipt.id, toBounce.id].allSatisfy { (try? store.outboxItem(id: $0)?.state) == .acked }
        }
        let tern = try JID("\(account.jid)/\(account.resource)")

        // Mallory learnt the ids (they travel in the clear) and claims both messages' fate.
        let mallory = try await server.connect("test59", resource: "mallory")
        try await mallory.send([receipt(to: tern, for: toReceipt.id), bounce(to: tern, for: toBounce.id)])
        // tern answers this ping only after it has handled what Mallory sent before it.
        _ = try await mallory.request(Ping.request(id: "after-mallory", to: tern))
        #expect(try store.outboxItem(id: toReceipt.id)?.state == .acked, "a stranger's receipt marked our message delivered")
        #expect(try store.outboxItem(id: toBounce.id)?.state == .acked, "a stranger's error marked our message failed")

        // The recipient itself is believed, from any of its resources.
        let bob = try await server.connect("test58", resource: "bob")
        try await bob.send([receipt(to: tern, for: toReceipt.id), bounce(to: tern, for: toBounce.id)])
        _ = try await bob.request(Ping.request(id: "after-bob", to: tern))
        #expect(try store.outboxItem(id: toReceipt.id)?.state == .delivered)
        #expect(try store.outboxItem(id: toBounce.id)?.state == .failed)

        await mallory.close()
        await bob.close()
        await engine.stop()
        await running.value
    }
}
