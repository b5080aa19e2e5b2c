import Foundation
import Store
import XMPP

/// Enqueuing outgoing messages: the Shell's only way to send.
///
/// The stanza is built and serialised here, before the row is written, so a message that
/// could never be sent (e.g. with characters XML 1.0 forbids) never enters the outbox.
public enum Outbox {
    /// A message to a contact, to a room we know (a groupchat message, XEP-0045 §7.4), or to
    /// one of its occupants (a private message, §7.5, which is its own conversation). Room
    /// messages carry no receipt request (XEP-0184 §5.3): the room's reflection confirms them.
    @discardableResult
    public static func enqueueChat(store: Store, account: Account, to recipient: String, body: String) throws -> OutboxItem {
        let to: JID
        do { to = try JID(recipient) } catch { throw SyncError.invalidRecipient("\(error)") }
        guard !body.isEmpty else { throw SyncError.emptyMessage }
        let id = UUID().uuidString.lowercased()
        let room = try store.room(accountID: account.rowID, jid: to.bare.description)
        let stanza: Message
        let conversation: String
        let type: String
        var sender = "\(account.jid)/\(account.resource)"
        switch (room, to.resource) {
        case (let room?, nil):
            // Held until the room is joined: only worth queuing for a room we mean to be in.
            guard room.wanted || room.state == .joined else { throw SyncError.notInRoom(room.jid) }
            stanza = Message.chat(to: to, body: body, id: id, kind: .groupchat, extra: [StanzaID.originID(id)])
            (conversation, type, sender) = (room.jid, "groupchat", "\(room.jid)/\(room.currentNick)")
        case (.some, .some):
            stanza = Message.chat(to: to, body: body, id: id, extra: [StanzaID.originID(id), Element("x", namespace: NS.mucUser)])
            (conversation, type) = (to.description, "chat")
        case (nil, _):
            stanza = Message.chat(
                to: to, body: body, id: id, extra: [StanzaID.originID(id), Element("request", namespace: NS.receipts)])
            (conversation, type) = (to.bare.description, "chat")
        }
        let text: String
        do { text = try XMLSerializer.serialize(stanza.element) } catch { throw SyncError.cannotSerialize("\(error)") }
        return try store.enqueue(Store.NewOutgoing(
            id: id, accountID: account.rowID, sender: sender,
            recipient: to.description, conversation: conversation, type: type, body: body, stanza: text))
    }
}
