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

/// A message row joined with its outbox state, as history shows it.
public struct HistoryEntry: Sendable, Equatable {
    public var message: StoredMessage
    /// The outbox state for outgoing messages (nil for incoming ones).
    public var state: OutboxItem.State?
}
