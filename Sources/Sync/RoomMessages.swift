import Foundation
import Store
import XMPP

/// XEP-0045 §7.4 (room messages), §7.2.15 (discussion history) and §7.5 (private messages)
/// as history rows, with XEP-0359 ids scoped to the room.
///
/// Pure. A room message gets the same row however it arrives (live, as join history, or from
/// the room's archive), so the UNIQUE (conversation, dedup key) index keeps one of each:
/// - our own message, sent to this room through this store's outbox (its origin-id is that
///   outbox id): the outbox row's own key, so the room's reflection or archived copy *is* that row;
/// - else the sender's nick with its origin-id, else the room's stanza-id (trusted only when
///   the room stamps them), else a hash of who said what and when.
enum RoomMessages {
    /// The history row for a groupchat message with a body; nil for anything else (subjects,
    /// chat states, errors, and any message carrying a carbon, which a room must never relay:
    /// converse.js #1704). `stanzaID` is the id the room's archive gave it, when it came from
    /// there; otherwise the live message's own `<stanza-id by=room>` counts, if trusted.
    static func record(
        for element: Element, room: Room, account: Account, ourJID: JID, ownOutboxIDs: Set<String>,
        receivedAt: Date, archivedAt: Date? = nil, archiveID: String? = nil
    ) -> StoredMessage? {
        guard let parsed = MUC.roomMessage(element), !parsed.carriesCarbon,
            parsed.room.description == room.jid,
            let nick = parsed.nick, let body = parsed.body, !body.isEmpty
        else { return nil }
        let timestamp = archivedAt ?? parsed.delay ?? receivedAt
        let stanzaID = archiveID ?? (room.archived == true ? parsed.stanzaID : nil)
        let isOurs = parsed.originID.map(ownOutboxIDs.contains) ?? false
        let dedupKey: String
        if isOurs, let originID = parsed.originID {
            dedupKey = originID
        } else {
            dedupKey = key(room: room.jid, nick: nick, originID: parsed.originID, stanzaID: stanzaID, body: body, timestamp: timestamp)
        }
        // Only what this store sent is ours: a nick says nothing about who held it before.
        var record = HistoryEdits.marking(StoredMessage(
            accountID: account.rowID, conversation: room.jid,
            direction: isOurs ? .outgoing : .incoming,
            type: "groupchat", sender: "\(room.jid)/\(nick)", recipient: ourJID.description, nick: nick, body: body,
            timestamp: timestamp.timeIntervalSince1970, receivedAt: receivedAt.timeIntervalSince1970,
            stanzaKey: parsed.id, originID: parsed.originID, stanzaID: stanzaID, dedupKey: dedupKey,
            isRead: isOurs), from: element)
        // Who may edit it later (EditRules): the room's occupant-id, trusted only if it advertises them.
        if room.occupantIDs == true { record?.occupantID = OccupantID.id(in: element) }
        return record
    }

    /// A private message from an occupant (§7.5): its own conversation, `room@service/nick`.
    static func privateRecord(for element: Element, account: Account, ourJID: JID, receivedAt: Date) -> StoredMessage? {
        let message = Message(element)
        guard message.kind == .chat || message.kind == .normal,
            let from = message.from, from.resource != nil,
            let body = message.body, !body.isEmpty,
            Carbons.copy(in: element, ourJID: ourJID) == .notACarbon
        else { return nil }
        let timestamp = Delay.timestamp(of: element) ?? receivedAt
        let originID = StanzaID.originID(of: element)
        return HistoryEdits.marking(StoredMessage(
            accountID: account.rowID, conversation: from.description, direction: .incoming, type: "chat",
            sender: from.description, recipient: ourJID.description, nick: from.resource, body: body,
            timestamp: timestamp.timeIntervalSince1970, receivedAt: receivedAt.timeIntervalSince1970,
            stanzaKey: message.id, originID: originID, stanzaID: nil,
            dedupKey: key(room: from.description, nick: "", originID: originID, stanzaID: nil, body: body, timestamp: timestamp)),
            from: element)
    }

    /// Someone else's origin-id is scoped by their nick: copying another occupant's id must not
    /// make that occupant's message look like a duplicate and vanish.
    static func key(room: String, nick: String, originID: String?, stanzaID: String?, body: String, timestamp: Date) -> String {
        if let originID, !originID.isEmpty { return "o:\(nick)/" + originID }
        if let stanzaID, !stanzaID.isEmpty { return "s:" + stanzaID }
        var hasher = FNV1a()
        hasher.add(room)
        hasher.add(nick)
        hasher.add(body)
        hasher.add(String(Int(timestamp.timeIntervalSince1970)))
        return "h:" + String(hasher.value, radix: 16)
    }
}
