import Foundation
import Store
import XMPP

/// Turns received `<message>` stanzas into history rows (RFC 6121 §5, XEP-0203, XEP-0359).
///
/// Pure: validation and dedup keys are decided here, the Store only enforces uniqueness.
public enum IncomingMessages {
    /// A history row for a chat or normal message with a body, or nil for anything else
    /// (chat states, receipts, errors, and messages without a usable sender).
    public static func record(for element: Element, account: Account, ourJID: JID, receivedAt: Date) -> StoredMessage? {
        let message = Message(element)
        guard message.kind == .chat || message.kind == .normal,
            let body = message.body, !body.isEmpty,
            let from = message.from, from.domain.isEmpty == false
        else { return nil }
        // A message "from" our own bare JID without carbons support is not a conversation.
        guard from.bare != ourJID.bare else { return nil }
        // Anything dressed as a carbon is CarbonsFeature's to judge; here (a forged copy an
        // archive kept, say) its outer body must never pass for a message (CVE-2017-5589 class).
        guard Carbons.copy(in: element, ourJID: ourJID) == .notACarbon else { return nil }
        let timestamp = Delay.timestamp(of: element) ?? receivedAt
        let originID = StanzaID.originID(of: element)
        let stanzaID = StanzaID.stanzaID(of: element, by: ourJID.bare)
        let record = StoredMessage(
            accountID: account.rowID, conversation: from.bare.description, direction: .incoming,
            type: message.kind == .chat ? "chat" : "normal", sender: from.description,
            recipient: element["to"] ?? ourJID.description, body: body,
            timestamp: timestamp.timeIntervalSince1970, receivedAt: receivedAt.timeIntervalSince1970,
            stanzaKey: message.id, originID: originID, stanzaID: stanzaID,
            dedupKey: dedupKey(from: from, id: message.id, originID: originID, body: body, timestamp: timestamp))
        return HistoryEdits.marking(record, from: element)
    }

    /// origin-id when the sender set one, else the sender's bare JID with its stanza id, else
    /// a hash of what was said and when: stable across offline delivery, resends and archives.
    static func dedupKey(from: JID, id: String?, originID: String?, body: String, timestamp: Date) -> String {
        if let originID, !originID.isEmpty { return "o:" + originID }
        if let id, !id.isEmpty { return "i:\(from.bare)/\(id)" }
        var hasher = FNV1a()
        hasher.add(from.bare.description)
        hasher.add(body)
        hasher.add(String(Int(timestamp.timeIntervalSince1970)))
        return "h:" + String(hasher.value, radix: 16)
    }
}

/// 64-bit FNV-1a: a stable hash (Swift's `Hasher` is seeded per process, so unusable for storage).
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ text: String) {
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value &*= 0x100_0000_01b3
        }
        value ^= 0xff
        value &*= 0x100_0000_01b3
    }
}

/// Committing history rows that arrived on the link, for every feature that stores messages.
enum MessageRows {
    typealias Row = (record: StoredMessage, element: Element)

    /// Stores a burst's rows in one transaction. When the Store refuses a row of it (a
    /// constraint, a value too big), each is tried on its own: one the Store cannot take,
    /// whatever a peer put in it, is dropped and reported rather than the link (DESIGN §6).
    /// Any other error is the Store's own, and is thrown: the burst must not be acknowledged.
    static func commit(_ rows: [Row], _ context: FeatureContext) async throws -> Store.EditOutcome {
        let (outcome, refused) = try commit(rows, store: context.store)
        if !refused.isEmpty { await context.emit(.dropped(refused.map(DroppedStanzaReport.init))) }
        return outcome
    }

    static func commit(_ rows: [Row], store: Store) throws -> (Store.EditOutcome, refused: [DroppedStanza]) {
        guard !rows.isEmpty else { return (Store.EditOutcome(), []) }
        do {
            return (try store.insertApplyingEdits(rows.map(\.record)), [])
        } catch let error where Store.isRowError(error) {
            var outcome = Store.EditOutcome()
            var refused: [DroppedStanza] = []
            for (record, element) in rows {
                do {
                    let one = try store.insertApplyingEdits([record])
                    outcome.inserted += one.inserted
                    outcome.edited += one.edited
                } catch let error where Store.isRowError(error) {
                    refused.append(DroppedStanza(name: "message", partial: element, reason: "the Store refused it: \(Store.reason(error))"))
                }
            }
            return (outcome, refused)
        }
    }
}
