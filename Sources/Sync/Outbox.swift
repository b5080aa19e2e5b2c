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
        try store.enqueue(prepare(store: store, account: account, to: recipient, body: body))
    }

    /// What `/correct` and `/retract` ask of our own `target`.
    public enum Edit: Sendable, Equatable {
        /// XEP-0308: the whole new text.
        case correction(String)
        /// XEP-0424, with its fallback body for clients without support.
        case retraction
    }

    /// Queues a correction or retraction of our own message `target` (XEP-0308 §3, XEP-0424
    /// §4) to the same conversation, and applies it to our history at once. A correction
    /// names the original's id attribute (its outbox id, or what another client of ours
    /// gave it); a retraction its origin-id, or in a room the stanza-id the room assigned.
    @discardableResult
    public static func enqueueEdit(store: Store, account: Account, _ edit: Edit, of target: StoredMessage) throws -> (
        OutboxItem, StoredMessage
    ) {
        guard target.direction == .outgoing, target.accountID == account.rowID else { throw SyncError.notOurMessage }
        let new: Store.NewOutgoing
        let kind: EditRequest.Kind
        switch edit {
        case .correction(let text):
            guard let id = target.stanzaKey ?? target.originID else { throw SyncError.notOurMessage }
            new = try prepare(store: store, account: account, to: target.conversation, body: text, extra: [Correction.replace(id)])
            kind = .correction
        case .retraction:
            let roomID = target.type == "groupchat" ? target.stanzaID : nil
            guard let id = roomID ?? target.originID ?? target.stanzaKey else { throw SyncError.notOurMessage }
            new = try prepare(
                store: store, account: account, to: target.conversation, body: Retraction.fallbackBody,
                extra: Retraction.elements(retracting: id))
            kind = .retraction
        }
        return try store.enqueueEdit(new, kind, of: target)
    }

    /// The outbox row for a message to a contact, to a room we know (a groupchat message,
    /// XEP-0045 §7.4), or to one of its occupants (a private message, §7.5, which is its own
    /// conversation), with its stanza serialised. Room messages carry no receipt request
    /// (XEP-0184 §5.3): the room's reflection confirms them.
    static func prepare(store: Store, account: Account, to recipient: String, body: String, extra: [Element] = []) throws
        -> Store.NewOutgoing
    {
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
            stanza = Message.chat(to: to, body: body, id: id, kind: .groupchat, extra: [StanzaID.originID(id)] + extra)
            (conversation, type, sender) = (room.jid, "groupchat", "\(room.jid)/\(room.currentNick)")
        case (.some, .some):
            stanza = Message.chat(
                to: to, body: body, id: id, extra: [StanzaID.originID(id), Element("x", namespace: NS.mucUser)] + extra)
            (conversation, type) = (to.description, "chat")
        case (nil, _):
            // <active/>: we take chat states, and a contact that does answers with its own (XEP-0085 §5.1).
            stanza = Message.chat(
                to: to, body: body, id: id,
                extra: [StanzaID.originID(id), Element("request", namespace: NS.receipts), ChatState.active.element] + extra)
            (conversation, type) = (to.bare.description, "chat")
        }
        let text: String
        do { text = try XMLSerializer.serialize(stanza.element) } catch { throw SyncError.cannotSerialize("\(error)") }
        return Store.NewOutgoing(
            id: id, accountID: account.rowID, sender: sender,
            recipient: to.description, conversation: conversation, type: type, body: body, stanza: text)
    }
}
