import GRDB

/// The conversation list (migration 0019): which conversations the user has, how many of their
/// messages are unread, and which ones the user closed. A conversation is listed because it has
/// messages (found through the time index); its unread count is kept per stored burst
/// (`countUnread`), so neither the list nor the prompt counts history; a closed one comes back
/// when a message newer than its closing arrives.
extension Store {
    /// One conversation as the list shows it.
    public struct ConversationSummary: Sendable, Equatable {
        public enum Kind: String, Sendable { case contact, room, occupant }

        /// The conversation key: a bare JID, a room, or `room/nick` for a private chat in a room.
        public let conversation: String
        public let kind: Kind
        /// Incoming messages the user has not seen (in a room, others' lines only).
        public let unread: Int
        /// The newest message id the user has seen; the unread marker goes after it.
        public let lastReadID: Int64
        /// The newest message, by time, with its outbox state when it is ours.
        public let last: HistoryEntry
    }

    /// The account's conversations, newest activity first; closed ones left out. The work is a
    /// few index seeks per conversation, whatever the size of the history.
    public func conversations(accountID: Int64) throws -> [ConversationSummary] {
        try read { db in
            let views = try Self.conversationViews(db, accountID)
            let rooms = Set(try Self.rooms(db, accountID).map(\.jid))
            var summaries: [ConversationSummary] = []
            for conversation in try Self.conversationKeys(db, accountID) {
                guard let last = try Self.lastEntry(db, accountID, conversation) else { continue }
                let view = views[conversation]
                if let view, view.closedAt != nil, let through = view.closedThroughID, (last.message.id ?? 0) <= through { continue }
                let kind: ConversationSummary.Kind =
                    rooms.contains(conversation) ? .room : (conversation.contains("/") ? .occupant : .contact)
                summaries.append(ConversationSummary(
                    conversation: conversation, kind: kind, unread: view?.unread ?? 0, lastReadID: view?.lastReadID ?? 0, last: last))
            }
            return summaries.sorted {
                ($0.last.message.timestamp, $0.last.message.id ?? 0) > ($1.last.message.timestamp, $1.last.message.id ?? 0)
            }
        }
    }

    /// One conversation's unread count: what the prompt needs when a message arrives, without
    /// listing every conversation.
    public func unreadCount(accountID: Int64, conversation: String) throws -> Int {
        try read { db in try Self.conversationView(db, accountID, conversation)?.unread ?? 0 }
    }

    /// The newest message id the user had seen in the conversation (0 when none).
    public func lastReadID(accountID: Int64, conversation: String) throws -> Int64 {
        try read { db in try Self.conversationView(db, accountID, conversation)?.lastReadID ?? 0 }
    }

    /// The user has seen the conversation up to message `upTo`, or all of it when nil. It is
    /// open again if it was closed. The read mark never moves back. With `upTo`, what is left
    /// unread is counted from the rows above it: pass a recent id (the message just shown).
    public func markRead(accountID: Int64, conversation: String, upTo: Int64? = nil) throws {
        try write { db in
            // Ids only grow: every message of the conversation stored so far is at most the newest id of all.
            let newest = try Int64.fetchOne(db, sql: "SELECT max(id) FROM message") ?? 0
            let mark = max(try Self.conversationView(db, accountID, conversation)?.lastReadID ?? 0, min(upTo ?? newest, newest))
            let unread = mark >= newest ? 0 : try Self.unreadAbove(db, accountID, conversation, mark)
            try db.execute(
                sql: """
                    INSERT INTO conversation_view (account_id, conversation, last_read_id, unread) VALUES (?, ?, ?, ?)
                    ON CONFLICT (account_id, conversation) DO UPDATE SET
                        last_read_id = excluded.last_read_id, unread = excluded.unread, closed_at = NULL, closed_through_id = NULL
                    """,
                arguments: [accountID, conversation, mark, unread])
        }
    }

    /// Takes the conversation off the list until a newer message arrives or the user opens it.
    /// What it held counts as read; its history stays.
    public func closeConversation(accountID: Int64, conversation: String) throws {
        let now = Store.now
        try write { db in
            let newest = try Int64.fetchOne(db, sql: "SELECT max(id) FROM message") ?? 0
            try db.execute(
                sql: """
                    INSERT INTO conversation_view (account_id, conversation, last_read_id, unread, closed_at, closed_through_id)
                    VALUES (?, ?, ?, 0, ?, ?)
                    ON CONFLICT (account_id, conversation) DO UPDATE SET
                        last_read_id = excluded.last_read_id, unread = 0, closed_at = excluded.closed_at,
                        closed_through_id = excluded.closed_through_id
                    """,
                arguments: [accountID, conversation, newest, now, newest])
        }
    }

    /// Counts what a stored burst adds to each conversation's unread messages, in the burst's
    /// transaction: one upsert per conversation, not per message (the ingest path, DESIGN §7).
    /// In a room, lines under our own nick (sent from another client of ours) are not waiting for us.
    static func countUnread(_ inserted: [StoredMessage], _ db: Database) throws {
        var counts: [ConversationKey: Int] = [:]
        var ourNicks: [ConversationKey: String?] = [:]
        for message in inserted where message.direction == .incoming {
            let key = ConversationKey(accountID: message.accountID, conversation: message.conversation)
            if message.type == "groupchat" {
                if ourNicks[key] == nil { ourNicks[key] = try room(db, key.accountID, key.conversation)?.currentNick }
                if let nick = ourNicks[key] ?? nil, message.nick == nick { continue }
            }
            counts[key, default: 0] += 1
        }
        guard !counts.isEmpty else { return }
        let upsert = try db.cachedStatement(
            sql: """
                INSERT INTO conversation_view (account_id, conversation, unread) VALUES (?, ?, ?)
                ON CONFLICT (account_id, conversation) DO UPDATE SET unread = unread + excluded.unread
                """)
        for (key, count) in counts {
            try upsert.execute(arguments: [key.accountID, key.conversation, count])
        }
    }

    // MARK: - Internals

    struct ConversationKey: Hashable {
        let accountID: Int64
        let conversation: String
    }

    struct ConversationView {
        let lastReadID: Int64
        let unread: Int
        let closedAt: Double?
        let closedThroughID: Int64?

        init(row: Row) {
            lastReadID = row["last_read_id"]
            unread = row["unread"]
            closedAt = row["closed_at"]
            closedThroughID = row["closed_through_id"]
        }
    }

    static func conversationViews(_ db: Database, _ accountID: Int64) throws -> [String: ConversationView] {
        var views: [String: ConversationView] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT * FROM conversation_view WHERE account_id = ?", arguments: [accountID]) {
            views[row["conversation"]] = ConversationView(row: row)
        }
        return views
    }

    static func conversationView(_ db: Database, _ accountID: Int64, _ conversation: String) throws -> ConversationView? {
        try Row.fetchOne(
            db, sql: "SELECT * FROM conversation_view WHERE account_id = ? AND conversation = ?", arguments: [accountID, conversation]
        ).map(ConversationView.init(row:))
    }

    /// The distinct conversations, one seek of the time index each (a skip scan: SQLite would
    /// otherwise read every entry of the account to group them).
    static let conversationKeysSQL = """
        WITH RECURSIVE key(conversation) AS (
            SELECT (SELECT conversation FROM message WHERE account_id = ?1 ORDER BY conversation LIMIT 1)
            UNION ALL
            SELECT (SELECT conversation FROM message WHERE account_id = ?1 AND conversation > key.conversation
                    ORDER BY conversation LIMIT 1)
            FROM key WHERE key.conversation IS NOT NULL
        )
        SELECT conversation FROM key WHERE conversation IS NOT NULL
        """

    static func conversationKeys(_ db: Database, _ accountID: Int64) throws -> [String] {
        try String.fetchAll(db, sql: conversationKeysSQL, arguments: [accountID])
    }

    /// The newest message by time (the order history shows), from the end of the time index.
    static let lastEntrySQL = """
        SELECT message.*, outbox.state AS outbox_state FROM message
        LEFT JOIN outbox ON outbox.id = message.outbox_id
        WHERE message.account_id = ? AND message.conversation = ?
        ORDER BY message.timestamp DESC, message.id DESC LIMIT 1
        """

    static func lastEntry(_ db: Database, _ accountID: Int64, _ conversation: String) throws -> HistoryEntry? {
        try Row.fetchOne(db, sql: lastEntrySQL, arguments: [accountID, conversation]).map(HistoryEntry.init(row:))
    }

    /// Incoming messages above `mark`, walking the rowids up from it: cheap for a recent mark,
    /// which is how the shell reads (the message it just showed). In a room, not our own nick's.
    static let unreadAboveSQL = """
        SELECT count(*) FROM message
        WHERE id > ?1 AND +account_id = ?2 AND +conversation = ?3 AND direction = 'in'
          AND (?4 IS NULL OR nick IS NULL OR nick <> ?4)
        """

    static func unreadAbove(_ db: Database, _ accountID: Int64, _ conversation: String, _ mark: Int64) throws -> Int {
        let ourNick = try room(db, accountID, conversation)?.currentNick
        return try Int.fetchOne(db, sql: unreadAboveSQL, arguments: [mark, accountID, conversation, ourNick]) ?? 0
    }
}
