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
        var entries: [HistoryEntry] = []
        try streamMessages(MessageRange(accountID: accountID, conversation: conversation, before: before, newest: limit)) {
            entries.append($0)
        }
        return entries
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
