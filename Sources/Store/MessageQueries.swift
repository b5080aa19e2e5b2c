import GRDB

/// History: storing incoming messages (deduplicated) and reading conversations back.
extension Store {
    /// Inserts a burst of messages in one transaction. Duplicates (same conversation and
    /// dedup key) are skipped. Returns the rows actually inserted, in order.
    public func insertMessages(_ messages: [StoredMessage]) throws -> [StoredMessage] {
        guard !messages.isEmpty else { return [] }
        return try write { db in
            var inserted: [StoredMessage] = []
            let statement = try db.cachedStatement(
                sql: """
                    INSERT OR IGNORE INTO message
                        (account_id, conversation, direction, type, sender, recipient, nick, body, timestamp,
                         received_at, stanza_key, origin_id, stanza_id, dedup_key, outbox_id, is_read)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for var message in messages {
                try statement.execute(arguments: [
                    message.accountID, message.conversation, message.direction.rawValue, message.type,
                    message.sender, message.recipient, message.nick, message.body, message.timestamp,
                    message.receivedAt, message.stanzaKey, message.originID, message.stanzaID, message.dedupKey,
                    message.outboxID, message.isRead,
                ])
                if db.changesCount > 0 {
                    message.id = db.lastInsertedRowID
                    inserted.append(message)
                }
            }
            return inserted
        }
    }

    /// The last `limit` messages of a conversation (before `before`, if given), oldest first.
    public func history(accountID: Int64, conversation: String, limit: Int = 50, before: Double? = nil) throws -> [HistoryEntry] {
        try read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT message.*, outbox.state AS outbox_state FROM message
                    LEFT JOIN outbox ON outbox.id = message.outbox_id
                    WHERE message.account_id = ? AND message.conversation = ? AND message.timestamp < ?
                    ORDER BY message.timestamp DESC, message.id DESC
                    LIMIT ?
                    """,
                arguments: [accountID, conversation, before ?? Double.greatestFiniteMagnitude, limit])
            return try rows.reversed().map(HistoryEntry.init(row:))
        }
    }

    /// A message in its context: up to `limit` messages of its conversation, about half before
    /// and half after it, oldest first (the order `history` uses: time, then id). Nil when the
    /// account holds no message with that id.
    public func history(accountID: Int64, around messageID: Int64, limit: Int = 20) throws -> [HistoryEntry]? {
        try read { db in
            guard let hit = try StoredMessage.filter(Column("account_id") == accountID && Column("id") == messageID).fetchOne(db)
            else { return nil }
            let before = max(0, (limit - 1) / 2)
            let after = max(0, limit - 1 - before)
            let select = """
                SELECT message.*, outbox.state AS outbox_state FROM message
                LEFT JOIN outbox ON outbox.id = message.outbox_id
                WHERE message.account_id = ? AND message.conversation = ?
                """
            let older = try Row.fetchAll(
                db, sql: select + " AND (message.timestamp, message.id) < (?, ?) ORDER BY message.timestamp DESC, message.id DESC LIMIT ?",
                arguments: [accountID, hit.conversation, hit.timestamp, messageID, before])
            let this = try Row.fetchAll(db, sql: select + " AND message.id = ?", arguments: [accountID, hit.conversation, messageID])
            let newer = try Row.fetchAll(
                db, sql: select + " AND (message.timestamp, message.id) > (?, ?) ORDER BY message.timestamp, message.id LIMIT ?",
                arguments: [accountID, hit.conversation, hit.timestamp, messageID, after])
            return try (older.reversed() + this + newer).map(HistoryEntry.init(row:))
        }
    }

    /// Messages with an id above `afterID`, oldest first: how other processes follow new traffic.
    public func messages(accountID: Int64, afterID: Int64, limit: Int = 500) throws -> [StoredMessage] {
        try read { db in
            try StoredMessage
                .filter(Column("account_id") == accountID && Column("id") > afterID)
                .order(Column("id"))
                .limit(limit)
                .fetchAll(db)
        }
    }

    /// `+account_id` keeps SQLite off the (account, conversation, time) index: walking the
    /// rowid backwards stops at the first match instead of sorting the whole history, so
    /// start-up does not grow with history.
    static let lastMessageSQL = "SELECT id, conversation FROM message WHERE +account_id = ? ORDER BY id DESC LIMIT 1"

    public func lastMessageID(accountID: Int64) throws -> Int64 {
        try read { db in try Row.fetchOne(db, sql: Self.lastMessageSQL, arguments: [accountID])?["id"] } ?? 0
    }
}

extension Store {
    /// The conversation with the most recent message: where the shell picks up.
    public func lastConversation(accountID: Int64) throws -> String? {
        try read { db in
            try Row.fetchOne(db, sql: Self.lastMessageSQL, arguments: [accountID])?["conversation"]
        }
    }
}

extension HistoryEntry {
    /// A `message.*` row with the joined `outbox_state` column.
    init(row: Row) throws {
        self.init(
            message: try StoredMessage(row: row),
            state: (row["outbox_state"] as String?).flatMap(OutboxItem.State.init(rawValue:)))
    }
}
