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
        defer { scheduleSearchIndexing() }
        return try write { db in
            let item = try Self.insertOutboxRow(db, new, at: now)
            var message = StoredMessage(
                accountID: new.accountID, conversation: new.conversation, direction: .outgoing, type: new.type,
                sender: new.sender, recipient: new.recipient, body: new.body, timestamp: now, receivedAt: now,
                stanzaKey: new.id, originID: new.id, dedupKey: new.id, outboxID: new.id, isRead: true)
            try message.insert(db)
            return item
        }
    }

    /// The outbox row alone, next in creation order.
    static func insertOutboxRow(_ db: Database, _ new: NewOutgoing, at now: Double) throws -> OutboxItem {
        let seq = (try Int64.fetchOne(db, sql: "SELECT max(seq) FROM outbox") ?? 0) + 1
        let item = OutboxItem(
            id: new.id, seq: seq, accountID: new.accountID, recipient: new.recipient, type: new.type,
            body: new.body, stanza: new.stanza, state: .queued, attempts: 0, error: nil,
            createdAt: now, sentAt: nil)
        try item.insert(db)
        return item
    }

    /// Rows ready to be sent, in creation order. A group chat message waits (still queued)
    /// until its room is joined: sent earlier, the room would bounce it (XEP-0045 §7.4).
    public func queuedOutbox(accountID: Int64) throws -> [OutboxItem] {
        try read { db in
            try OutboxItem.fetchAll(
                db,
                sql: """
                    SELECT * FROM outbox
                    WHERE account_id = ? AND state = 'queued'
                      AND (type != 'groupchat'
                           OR recipient IN (SELECT jid FROM room WHERE account_id = outbox.account_id AND state = 'joined'))
                    ORDER BY seq
                    """,
                arguments: [accountID])
        }
    }

    /// How many messages wait to be sent, those held until their room is joined included.
    public func queuedCount(accountID: Int64) throws -> Int {
        try outboxCount(accountID: accountID, in: [.queued])
    }

    /// How many rows are in one of `states` (to `recipient` only, when given): one COUNT, for
    /// the loops that wait on the server without reading whole rows each time.
    public func outboxCount(accountID: Int64, in states: [OutboxItem.State], recipient: String? = nil) throws -> Int {
        try read { db in
            var request = OutboxItem.filter(Column("account_id") == accountID && states.map(\.rawValue).contains(Column("state")))
            if let recipient { request = request.filter(Column("recipient") == recipient) }
            return try request.fetchCount(db)
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
        try write { db in try Self.markOutbox(db, ids: ids, as: state, from: allowed, error: error) }
    }

    /// The rows with these ids, by id, in one read (a burst's receipts and bounces).
    public func outboxItems(ids: [String]) throws -> [String: OutboxItem] {
        guard !ids.isEmpty else { return [:] }
        return try read { db in
            Dictionary(uniqueKeysWithValues: try OutboxItem.fetchAll(db, keys: ids).map { ($0.id, $0) })
        }
    }

    /// Receipts and bounces of one burst, settled in one transaction: sent or acked rows
    /// become delivered, or failed with their reason.
    public func settleOutbox(delivered: [String], failed: [(id: String, reason: String)]) throws {
        guard !delivered.isEmpty || !failed.isEmpty else { return }
        try write { db in
            try Self.markOutbox(db, ids: delivered, as: .delivered, from: [.sent, .acked], error: nil)
            for (id, reason) in failed {
                try Self.markOutbox(db, ids: [id], as: .failed, from: [.sent, .acked], error: reason)
            }
        }
    }

    private static func markOutbox(
        _ db: Database, ids: [String], as state: OutboxItem.State, from allowed: [OutboxItem.State], error: String?
    ) throws {
        guard !ids.isEmpty else { return }
        let countsAttempt = state == .sent
        try db.execute(
            sql: """
                UPDATE outbox SET state = ?, error = ?,
                    attempts = attempts + ?, sent_at = CASE WHEN ? THEN ? ELSE sent_at END
                WHERE id IN (\(databaseQuestionMarks(count: ids.count)))
                  AND state IN (\(databaseQuestionMarks(count: allowed.count)))
                """,
            arguments: [state.rawValue, error, countsAttempt ? 1 : 0, countsAttempt, Store.now]
                + StatementArguments(ids) + StatementArguments(allowed.map(\.rawValue)))
    }
}
