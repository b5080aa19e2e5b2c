import Store
import XMPP

/// XEP-0184 §5 receipts (`urn:xmpp:receipts`) and RFC 6120 §8.3 message errors: which outbox rows they may settle.
///
/// A message id travels in the clear to the recipient and to every server on the way, so
/// knowing it proves nothing. A receipt counts only from the bare JID we wrote to; an error
/// only from that JID, its server, our own server, or with no `from` (our server speaking
/// for our account, RFC 6120 §8.1.2.1). A `from` that is present but not a JID is never
/// trusted, and rows of another account are never touched.
enum OutboxReplies {
    enum Claim: Sendable, Equatable {
        case delivered(id: String)
        case failed(id: String, reason: String)

        var id: String {
            switch self {
            case .delivered(let id), .failed(let id, _): id
            }
        }
    }

    /// What `message` says about one of our outbox rows, before any trust check.
    static func claim(in message: Message) -> Claim? {
        if message.kind == .error {
            guard let id = message.id else { return nil }
            return .failed(id: id, reason: message.error?.description ?? "error")
        }
        if let id = message.element.child("received", namespace: NS.receipts)?["id"] {
            return .delivered(id: id)
        }
        return nil
    }

    /// Whether a stanza from `rawFrom`, received by `accountID`, may make `claim` about `item`.
    static func isTrusted(_ claim: Claim, from rawFrom: String?, about item: OutboxItem, accountID: Int64, ourJID: JID) -> Bool {
        item.id == claim.id
            && isTrusted(claim, from: rawFrom, row: (item.accountID, item.recipient), accountID: accountID, ourJID: ourJID)
    }

    static func isTrusted(
        _ claim: Claim, from rawFrom: String?, row: (accountID: Int64, recipient: String), accountID: Int64, ourJID: JID
    ) -> Bool {
        guard row.accountID == accountID, let recipient = try? JID(row.recipient) else { return false }
        guard let rawFrom else {
            // Only our own server can send without `from`; it may bounce, never confirm delivery.
            if case .failed = claim { return true }
            return false
        }
        guard let from = try? JID(rawFrom) else { return false }
        if from.bare == recipient.bare { return true }
        guard case .failed = claim, from.local == nil, from.resource == nil else { return false }
        return from.domain == recipient.domain || from.domain == ourJID.domain
    }
}
