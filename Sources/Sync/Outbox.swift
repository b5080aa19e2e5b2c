import Foundation
import Store
import XMPP

/// Enqueuing outgoing messages: the Shell's only way to send.
///
/// The stanza is built and serialised here, before the row is written, so a message that
/// could never be sent (e.g. with characters XML 1.0 forbids) never enters the outbox.
public enum Outbox {
    @discardableResult
    public static func enqueueChat(store: Store, account: Account, to recipient: String, body: String) throws -> OutboxItem {
        let to: JID
        do { to = try JID(recipient) } catch { throw SyncError.invalidRecipient("\(error)") }
        guard !body.isEmpty else { throw SyncError.emptyMessage }
        let id = UUID().uuidString.lowercased()
        let stanza = Message.chat(
            to: to, body: body, id: id,
            extra: [StanzaID.originID(id), Element("request", namespace: NS.receipts)])
        let text: String
        do { text = try XMLSerializer.serialize(stanza.element) } catch { throw SyncError.cannotSerialize("\(error)") }
        return try store.enqueue(Store.NewOutgoing(
            id: id, accountID: account.rowID, sender: "\(account.jid)/\(account.resource)",
            recipient: to.description, conversation: to.bare.description, type: "chat", body: body, stanza: text))
    }
}
