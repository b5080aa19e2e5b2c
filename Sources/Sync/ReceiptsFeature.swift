import Foundation
import XMPP

/// XEP-0184 §5.1 on the live session: a stored one-to-one message that asks for a receipt
/// gets one. It observes rather than claims, so whichever feature stores the message (chat,
/// a room's private message) does, and the receipt follows that commit.
///
/// Receipts for our own messages settle outbox rows in `ChatFeature` (`OutboxReplies`).
struct ReceiptsFeature: SessionFeature {
    var discoFeatures: [String] { [Receipts.feature] }

    func observes(_ stanza: Element, _ context: FeatureContext) -> Bool {
        stanza.matches("message", NS.client) && Receipts.isRequested(in: Message(stanza))
    }

    func observe(_ stanzas: [Element], _ context: FeatureContext) async throws {
        let now = Date()
        let receipts = stanzas.compactMap { stanza -> Element? in
            // Only for what became a conversation row: never for a carbon, an echo of our own
            // account, or a message without a body (§5.3 leaves those unanswered).
            guard IncomingMessages.record(for: stanza, account: context.account, ourJID: context.boundJID, receivedAt: now) != nil
            else { return nil }
            return Receipts.receipt(for: Message(stanza), id: context.nextID())
        }
        guard !receipts.isEmpty else { return }
        // Not sent means the link is gone: the burst then goes unacknowledged and comes again.
        try? await context.send(receipts)
    }
}
