import Foundation
import Store
import XMPP

/// One-to-one and normal messages on the live session (RFC 6121 §5): stored as history in one
/// transaction per burst, and RFC 6120 §8.3 message errors about our outbox rows settled after
/// trust checks (`OutboxReplies`). Receipts, both ways, are `ReceiptsFeature`'s.
///
/// It claims every message no feature before it took; those with nothing to store or settle
/// (chat states alone, say) end here.
struct ChatFeature: SessionFeature {
    /// XEP-0308 §2 and XEP-0424 §2: a client that applies corrections and retractions says so.
    var discoFeatures: [String] { [Correction.namespace, Retraction.namespace] }

    func claims(_ stanza: Element, _ context: FeatureContext) -> Bool {
        stanza.matches("message", NS.client)
    }

    func handle(_ stanzas: [Element], _ context: FeatureContext) async throws {
        let now = Date()
        var rows: [MessageRows.Row] = []
        var outboxClaims: [(claim: OutboxReplies.Claim, from: String?)] = []
        for element in stanzas {
            let message = Message(element)
            if let claim = OutboxReplies.claim(in: message), case .failed = claim {
                outboxClaims.append((claim, message.rawFrom))
                continue
            }
            if let record = IncomingMessages.record(for: element, account: context.account, ourJID: context.boundJID, receivedAt: now) {
                rows.append((record, element))
            }
        }
        let stored = try await MessageRows.commit(rows, context)
        await context.countReceived(stored.inserted.count)
        for message in stored.changed { await context.emit(.message(message)) }
        try await OutboxReplies.settle(outboxClaims, context)
    }
}

extension OutboxReplies {
    /// An id alone proves nothing: only the recipient (or, for errors, the servers on the way) may settle a row.
    static func settle(_ claims: [(claim: Claim, from: String?)], _ context: FeatureContext) async throws {
        guard !claims.isEmpty else { return }
        let items = try context.store.outboxItems(ids: claims.map(\.claim.id))
        var delivered: [String] = []
        var failed: [(id: String, reason: String)] = []
        for (claim, from) in claims {
            guard let item = items[claim.id],
                OutboxReplies.isTrusted(claim, from: from, about: item, accountID: context.account.rowID, ourJID: context.boundJID)
            else { continue }
            switch claim {
            case .delivered: delivered.append(item.id)
            case .failed(_, let reason): failed.append((item.id, reason))
            }
        }
        try context.store.settleOutbox(delivered: delivered, failed: failed)
        for id in delivered { await context.emit(.outbox(id: id, state: .delivered)) }
        for (id, _) in failed { await context.emit(.outbox(id: id, state: .failed)) }
    }
}
