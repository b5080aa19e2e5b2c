import GRDB

/// One message in a conversation, incoming or outgoing.
public struct StoredMessage: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "message"

    public enum Direction: String, Codable, Sendable { case incoming = "in", outgoing = "out" }

    public var id: Int64?
    public var accountID: Int64
    public var conversation: String
    public var direction: Direction
    public var type: String
    public var sender: String
    public var recipient: String
    public var nick: String?
    public var body: String
    public var timestamp: Double
    public var receivedAt: Double
    public var stanzaKey: String?
    public var originID: String?
    public var stanzaID: String?
    public var dedupKey: String
    /// Set from the account, conversation and dedup key when the row is inserted (`DedupHash`).
    public var dedupHash: Int64?
    public var outboxID: String?
    public var isRead: Bool
    /// When the sender last corrected it (XEP-0308); nil if never.
    public var editedAt: Double?
    /// When the sender retracted it (XEP-0424); its body is then empty.
    public var retractedAt: Double?
    /// In a room: the sender's XEP-0421 occupant-id, kept only when the room advertises them.
    public var occupantID: String? = nil
    /// In a room: the sender's real bare JID, when the room revealed it as the message arrived.
    public var senderRealJID: String? = nil
    /// Set on a row that asks to edit an earlier one instead of being a message of its own;
    /// never stored (see `Store.insertApplyingEdits`).
    public var edit: EditRequest? = nil
    /// The URL of an XEP-0066 OOB element the message carried; never stored here: it makes
    /// the message a file offer (`FileOffer`, table file_transfer).
    public var offeredURL: String? = nil

    enum CodingKeys: String, CodingKey {
        case id
        case accountID = "account_id"
        case conversation, direction, type, sender, recipient, nick, body, timestamp
        case receivedAt = "received_at"
        case stanzaKey = "stanza_key"
        case originID = "origin_id"
        case stanzaID = "stanza_id"
        case dedupKey = "dedup_key"
        case dedupHash = "dedup_hash"
        case outboxID = "outbox_id"
        case isRead = "is_read"
        case editedAt = "edited_at"
        case retractedAt = "retracted_at"
        case occupantID = "occupant_id"
        case senderRealJID = "sender_real_jid"
    }

    public init(
        accountID: Int64, conversation: String, direction: Direction, type: String = "chat",
        sender: String, recipient: String, nick: String? = nil, body: String, timestamp: Double,
        receivedAt: Double, stanzaKey: String? = nil, originID: String? = nil, stanzaID: String? = nil,
        dedupKey: String, outboxID: String? = nil, isRead: Bool = false
    ) {
        self.accountID = accountID
        self.conversation = conversation
        self.direction = direction
        self.type = type
        self.sender = sender
        self.recipient = recipient
        self.nick = nick
        self.body = body
        self.timestamp = timestamp
        self.receivedAt = receivedAt
        self.stanzaKey = stanzaKey
        self.originID = originID
        self.stanzaID = stanzaID
        self.dedupKey = dedupKey
        self.outboxID = outboxID
        self.isRead = isRead
    }

    public mutating func willInsert(_ db: Database) throws {
        dedupHash = DedupHash.of(accountID: accountID, conversation: conversation, key: dedupKey)
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

/// What an incoming correction or retraction asks of an earlier message, named by `targetID`
/// (XEP-0308 §3: its id attribute; XEP-0424 §4: its origin-id, or in a room its stanza-id).
public struct EditRequest: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case correction, retraction }
    public var kind: Kind
    public var targetID: String

    public init(_ kind: Kind, of targetID: String) {
        self.kind = kind
        self.targetID = targetID
    }
}

/// A message row joined with its outbox state, as history shows it.
public struct HistoryEntry: Sendable, Equatable {
    public var message: StoredMessage
    /// The outbox state for outgoing messages (nil for incoming ones).
    public var state: OutboxItem.State?

    public init(message: StoredMessage, state: OutboxItem.State?) {
        self.message = message
        self.state = state
    }
}
