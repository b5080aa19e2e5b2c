import Store
import Testing
@testable import Sync
@testable import XMPP

/// Receipts and message errors may settle an outbox row only when they come from whom we wrote to.
@Suite struct OutboxRepliesTests {
    let me = try! JID("alice@example.org/tern")
    let row = (accountID: Int64(7), recipient: "bob@example.net")

    func trusted(_ claim: OutboxReplies.Claim, from: String?, accountID: Int64 = 7) -> Bool {
        OutboxReplies.isTrusted(claim, from: from, row: row, accountID: accountID, ourJID: me)
    }

    func message(_ attributes: [String: String], _ children: [Element] = []) -> Message {
        Message(Element("message", namespace: NS.client, attributes: attributes, elements: children))
    }

    @Test func claim__reads_receipts_and_errors_with_their_ids() {
        let receipt = message(["from": "bob@example.net/phone"], [Element("received", namespace: NS.receipts, attributes: ["id": "row-1"])])
        #expect(OutboxReplies.claim(in: receipt) == .delivered(id: "row-1"))
        let bounce = message(["from": "bob@example.net", "type": "error", "id": "row-1"])
        #expect(OutboxReplies.claim(in: bounce)?.id == "row-1")
        #expect(OutboxReplies.claim(in: message(["from": "bob@example.net", "type": "error"])) == nil, "an error without id names no row")
        #expect(OutboxReplies.claim(in: message(["from": "bob@example.net", "type": "chat", "id": "row-1"])) == nil)
    }

    @Test func receipt__counts_only_from_the_recipient_any_resource() {
        let delivered = OutboxReplies.Claim.delivered(id: "row-1")
        #expect(trusted(delivered, from: "bob@example.net/phone"))
        #expect(trusted(delivered, from: "bob@example.net"))
        // Anyone who learnt the id (it travels in the clear) cannot confirm delivery.
        #expect(!trusted(delivered, from: "mallory@evil.example/x"))
        #expect(!trusted(delivered, from: "example.net"), "the recipient's server cannot claim the user read it")
        #expect(!trusted(delivered, from: "example.org"))
        #expect(!trusted(delivered, from: nil))
        #expect(!trusted(delivered, from: "not a jid@@"))
    }

    @Test func error__counts_from_the_recipient_the_servers_on_the_path_or_our_server() {
        let failed = OutboxReplies.Claim.failed(id: "row-1", reason: "item-not-found")
        #expect(trusted(failed, from: "bob@example.net/phone"))
        #expect(trusted(failed, from: "example.net"))
        #expect(trusted(failed, from: "example.org"))
        #expect(trusted(failed, from: nil), "no from: our own server speaking for us")
        #expect(!trusted(failed, from: "mallory@evil.example"))
        #expect(!trusted(failed, from: "mallory@example.net"), "another user on the recipient's server")
        #expect(!trusted(failed, from: "example.net/resource"))
        #expect(!trusted(failed, from: "evil.example"))
        #expect(!trusted(failed, from: "bob@@example.net"), "an invalid from is never taken for an absent one")
    }

    @Test func claims__never_touch_another_accounts_row() {
        #expect(!trusted(.delivered(id: "row-1"), from: "bob@example.net", accountID: 8))
        #expect(!trusted(.failed(id: "row-1", reason: "x"), from: nil, accountID: 8))
    }
}
