import GRDB

/// The durable outbox: every outgoing message is committed here before anything touches the network.
extension Store {
    /// A message to enqueue; `stanza` is its serialised form, so only sendable text gets in.
    public struct NewOutgoing: Sendable {
        public var id: String
        public var accountID: Int64
        public var sender: String
        public var recipient: String
        public var conversation: String
        public var type: String
        public var body: String
        public var stanza: String

        public init(
            id: String, accountID: Int64, sender: String, recipient: String, conversation: String,
            type: String, body: String, stanza: String
        ) {
            self.id = id
            self.accountID = accountID
            self.sender = sender
            self.recipient = recipient
            self.conversation = conversation
            self.type = type
            self.body = body
            self.stanza = stanza
        }
    }

    /// Writes the outbox row and its history entry in one transaction, and commits before returning.
    @discardableResult
    public func enqueue(_ new: NewOutgoing) throws -> OutboxItem {
        let now = Store.now
        return try write { db in
            let seq = (try Int64.fetchOne(db, sql: "SELECT max(seq) FROM outbox") ?? 0) + 1
            let item = OutboxItem(
                id: new.id, seq: seq, accountID: new.accountID, recipient: new.recipient, type: new.type,
                body: new.body, stanza: new.stanza, state: .queued, attempts: 0, error: nil,
                createdAt: now, sentAt: nil)
            try item.insert(db)
            var message = StoredMessage(
                accountID: new.accountID, conversation: new.conversation, direction: .outgoing, type: new.type,
                sender: new.sender, recipient: new.recipient, body: new.body, timestamp: now, receivedAt: now,
                stanzaKey: new.id, originID: new.id, dedupKey: new.id, outboxID: new.id, isRead: true)
            try message.insert(db)
            return item
        }
    }

    /// Rows waiting to be sent, in creation order.
    public func queuedOutbox(accountID: Int64) throws -> [OutboxItem] {
        try read { db in
            try OutboxItem
                .filter(Column("account_id") == accountID && Column("state") == OutboxItem.State.queued.rawValue)
                .order(Column("seq"))
                .fetchAll(db)
        }
    }

    /// Every row not yet finished with (queued, sent, acked, failed), oldest first.
    public func outbox(accountID: Int64, includeFinished: Bool = false) throws -> [OutboxItem] {
        try read { db in
            var request = OutboxItem.filter(Column("account_id") == accountID)
            if !includeFinished {
                request = request.filter(
                    [OutboxItem.State.queued, .sent, .acked, .failed].map(\.rawValue).contains(Column("state")))
            }
            return try request.order(Column("seq")).fetchAll(db)
        }
    }

    public func outboxItem(id: String) throws -> OutboxItem? {
        try read { db in try OutboxItem.fetchOne(db, key: id) }
    }

    /// Moves rows to a new state; only forward moves from the given states happen.
    public func markOutbox(ids: [String], as state: OutboxItem.State, from allowed: [OutboxItem.State], error: String? = nil) throws {
        guard !ids.isEmpty else { return }
        let now = Store.now
        try write { db in
            let countsAttempt = state == .sent
            try db.execute(
                sql: """
                    UPDATE outbox SET state = ?, error = ?,
                        attempts = attempts + ?, sent_at = CASE WHEN ? THEN ? ELSE sent_at END
                    WHERE id IN (\(databaseQuestionMarks(count: ids.count)))
                      AND state IN (\(databaseQuestionMarks(count: allowed.count)))
                    """,
                arguments: [state.rawValue, error, countsAttempt ? 1 : 0, countsAttempt, now]
                    + StatementArguments(ids) + StatementArguments(allowed.map(\.rawValue)))
        }
    }
}
