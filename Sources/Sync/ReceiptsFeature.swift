import Foundation
import XMPP

/// XEP-0184 on the live session, both ways. §5.1: a stored one-to-one message that asks for a
/// receipt gets one. It observes rather than claims, so whichever feature stores the message
/// (chat, a room's private message) does, and the receipt follows that commit. §5.2: a receipt
/// for one of our outbox rows marks it delivered, when it comes from whom we wrote to
/// (`OutboxReplies`).
struct ReceiptsFeature: SessionFeature {
    var discoFeatures: [String] { [Receipts.feature] }

    func observes(_ stanza: Element, _ context: FeatureContext) -> Bool {
        guard stanza.matches("message", NS.client) else { return false }
        let message = Message(stanza)
        return Receipts.isRequested(in: message) || (message.kind != .error && Receipts.receivedID(in: message) != nil)
    }

    func observe(_ stanzas: [Element], _ context: FeatureContext) async throws {
        let deliveries = stanzas.compactMap { stanza -> (claim: OutboxReplies.Claim, from: String?)? in
            let message = Message(stanza)
            guard message.kind != .error, let id = Receipts.receivedID(in: message) else { return nil }
            return (.delivered(id: id), message.rawFrom)
        }
        try await OutboxReplies.settle(deliveries, context)
        try await answer(stanzas.filter { Receipts.isRequested(in: Message($0)) }, context)
    }

    private func answer(_ stanzas: [Element], _ context: FeatureContext) async throws {
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
