import GRDB

/// A queued outgoing stanza. Its id is the stanza id and the XEP-0359 origin-id.
public struct OutboxItem: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "outbox"

    /// queued → sent → acked (XEP-0198) → delivered (XEP-0184) | failed; cancelled by the user.
    public enum State: String, Codable, Sendable, CaseIterable {
        case queued, sent, acked, delivered, failed, cancelled
    }

    public var id: String
    public var seq: Int64
    public var accountID: Int64
    public var recipient: String
    public var type: String
    public var body: String
    public var stanza: String
    public var state: State
    public var attempts: Int
    public var error: String?
    public var createdAt: Double
    public var sentAt: Double?

    enum CodingKeys: String, CodingKey {
        case id, seq
        case accountID = "account_id"
        case recipient, type, body, stanza, state, attempts, error
        case createdAt = "created_at"
        case sentAt = "sent_at"
    }
}

/// What the sync engine last reported about an account's connection, for other processes to read.
public struct SyncState: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "sync_state"

    public var accountID: Int64
    public var rosterVer: String?
    public var connection: String
    public var lastError: String?
    public var updatedAt: Double?

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id"
        case rosterVer = "roster_ver"
        case connection
        case lastError = "last_error"
        case updatedAt = "updated_at"
    }

    public init(accountID: Int64) {
        self.accountID = accountID
        connection = "offline"
    }
}
