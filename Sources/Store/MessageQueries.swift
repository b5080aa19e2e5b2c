import GRDB

/// History: storing incoming messages (deduplicated) and reading conversations back.
extension Store {
    /// Inserts a burst of messages in one transaction. Duplicates (same account, conversation
    /// and dedup key, here or within the burst) are skipped. Returns the rows actually
    /// inserted, in order.
    public func insertMessages(_ messages: [StoredMessage]) throws -> [StoredMessage] {
        guard !messages.isEmpty else { return [] }
        let inserted = try write { db in try Self.insertMessages(messages, db) }
        if !inserted.isEmpty { scheduleSearchIndexing() }
        return inserted
    }

    /// The hot insert (DESIGN §7): two prepared statements per message, a probe of the compact
    /// hash index and the insert; the full key is compared only when a hash matches.
    static func insertMessages(_ messages: [StoredMessage], _ db: Database) throws -> [StoredMessage] {
        let probe = try db.cachedStatement(
            sql: "SELECT account_id, conversation, dedup_key FROM message WHERE dedup_hash = ?")
        let insert = try db.cachedStatement(
            sql: """
                INSERT INTO message
                    (account_id, conversation, direction, type, sender, recipient, nick, body, timestamp,
                     received_at, stanza_key, origin_id, stanza_id, dedup_key, dedup_hash, outbox_id, is_read,
                     occupant_id, sender_real_jid)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        var inserted: [StoredMessage] = []
        inserted.reserveCapacity(messages.count)
        for var message in messages {
            let hash = DedupHash.of(accountID: message.accountID, conversation: message.conversation, key: message.dedupKey)
            let rows = try Row.fetchCursor(probe, arguments: [hash])
            var duplicate = false
            while let row = try rows.next() {
                if row[0] == message.accountID, row[1] == message.conversation, row[2] == message.dedupKey {
                    duplicate = true
                    break
                }
            }
            if duplicate { continue }
            try insert.execute(arguments: [
                message.accountID, message.conversation, message.direction.rawValue, message.type,
                message.sender, message.recipient, message.nick, message.body, message.timestamp,
                message.receivedAt, message.stanzaKey, message.originID, message.stanzaID, message.dedupKey,
                hash, message.outboxID, message.isRead, message.occupantID, message.senderRealJID,
            ])
            message.id = db.lastInsertedRowID
            message.dedupHash = hash
            if message.direction == .incoming, let url = FileOffer.url(of: message) {
                try recordOffer(url, of: message, db)
            }
            inserted.append(message)
        }
        try countUnread(inserted, db)
        return inserted
    }

    /// A file offer, in the transaction that stores its message.
    static func recordOffer(_ url: String, of message: StoredMessage, _ db: Database) throws {
        let insert = try db.cachedStatement(
            sql: """
                INSERT INTO file_transfer (account_id, message_id, conversation, sender, direction, url, created_at, updated_at)
                VALUES (?, ?, ?, ?, 'in', ?, ?, ?)
                """)
        try insert.execute(arguments: [
            message.accountID, message.id, message.conversation, message.sender, url, message.timestamp, message.receivedAt,
        ])
    }

    /// The last `limit` messages of a conversation (before `before`, if given), oldest first.
    public func history(accountID: Int64, conversation: String, limit: Int = 50, before: Double? = nil) throws -> [HistoryEntry] {
        var entries: [HistoryEntry] = []
        try streamMessages(MessageRange(accountID: accountID, conversation: conversation, before: before, newest: limit)) {
            entries.append($0)
        }
        return entries
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
