import Foundation
import Store
import XMPP

/// What the engine tells the UI, in order.
public enum SyncEvent: Sendable {
    public enum ConnectionState: String, Sendable {
        case connecting, online, offline
    }

    case connection(ConnectionState, detail: String?)
    case message(StoredMessage)
    case outbox(id: String, state: OutboxItem.State)
    /// A contact's resource changed (RFC 6121 §4).
    case presence(ResourcePresence)
    /// Someone asks to see our presence; stored until answered (RFC 6121 §3.1.3).
    case subscriptionRequest(jid: String, message: String?)
    case subscribed(jid: String)
    case unsubscribed(jid: String)
    /// Many subscription requests or presence updates from people not in the roster at once,
    /// told as one (DESIGN §6, Floods); see `StrangerDigest`.
    case strangers(StrangerSummary)
    /// Group chat: joins, exits, occupants, subjects, invitations (XEP-0045, XEP-0249).
    case room(RoomEvent)
    /// Stanzas of one burst skipped for crossing a per-stanza limit (DESIGN §6).
    case dropped([DroppedStanzaReport])
    /// The server keeps ending sessions soon after login (`failures` times in a row, the
    /// last for `reason`): no network fault, so the next attempt waits `delay`, up to minutes.
    case retrying(reason: String, delay: Duration, failures: Int)
    /// A contact is typing, paused, or back (XEP-0085): for the prompt, never a line.
    case chatState(jid: String, ChatState)
}

/// Something that happened in or about a room. `text` is for people (a reason, a subject,
/// what changed) and comes partly from the server: the UI makes it inert before printing.
public struct RoomEvent: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case joined = "room-joined"
        case left = "room-left"
        case failed = "room-error"
        case nickRetry = "room-nick"
        case occupant = "room-occupant"
        case subject = "room-subject"
        case invite
    }

    public var kind: Kind
    public var room: String
    public var nick: String?
    public var inviter: String?
    public var text: String?
    public var password: String?

    public init(kind: Kind, room: String, nick: String? = nil, inviter: String? = nil, text: String? = nil, password: String? = nil) {
        self.kind = kind
        self.room = room
        self.nick = nick
        self.inviter = inviter
        self.text = text
        self.password = password
    }
}

/// The result of one `sync` pass.
public struct SyncReport: Sendable {
    public var connected: Bool
    /// Whether the pass continued a saved XEP-0198 session instead of starting a new one.
    public var resumed: Bool = false
    public var sent: Int
    public var received: Int
    public var error: ConnectionError?
}
