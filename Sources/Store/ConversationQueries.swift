import GRDB

/// The conversation list (migration 0019): which conversations the user has, how many of their
/// messages are unread, and which ones the user closed. Read from the history's own indexes, so
/// nothing is written on the ingest path: a conversation is listed because it has messages, and
/// a closed one comes back when a message newer than its closing arrives.
extension Store {
    /// One conversation as the list shows it.
    public struct ConversationSummary: Sendable, Equatable {
        public enum Kind: String, Sendable { case contact, room, occupant }

        /// The conversation key: a bare JID, a room, or `room/nick` for a private chat in a room.
        public let conversation: String
        public let kind: Kind
        /// Incoming messages the user has not seen (in a room, others' lines only), at most `unreadCountCap`.
        public let unread: Int
        /// The newest message id the user has seen; the unread marker goes after it.
        public let lastReadID: Int64
        /// The newest message, by time, with its outbox state when it is ours.
        public let last: HistoryEntry
    }

    /// Counting stops here: "999+" is all a list needs, and the count stays bounded work.
    public static let unreadCountCap = 1000

    /// The account's conversations, newest activity first; closed ones left out. The work is a
    /// few index seeks per conversation, whatever the size of the history.
    public func conversations(accountID: Int64) throws -> [ConversationSummary] {
        try read { db in
            let views = try Self.conversationViews(db, accountID)
            let rooms = try Self.rooms(db, accountID)
            let nicks = Dictionary(rooms.map { ($0.jid, $0.currentNick) }, uniquingKeysWith: { first, _ in first })
            var summaries: [ConversationSummary] = []
            for conversation in try Self.conversationKeys(db, accountID) {
                guard let last = try Self.lastEntry(db, accountID, conversation) else { continue }
                let view = views[conversation]
                if let view, view.closedAt != nil, let through = view.closedThroughID, (last.message.id ?? 0) <= through { continue }
                let lastRead = view?.lastReadID ?? 0
                let kind: ConversationSummary.Kind =
                    nicks[conversation] != nil ? .room : (conversation.contains("/") ? .occupant : .contact)
                summaries.append(ConversationSummary(
                    conversation: conversation, kind: kind,
                    unread: try Self.unreadCount(db, accountID, conversation, after: lastRead, ourNick: nicks[conversation]),
                    lastReadID: lastRead, last: last))
            }
            return summaries.sorted {
                ($0.last.message.timestamp, $0.last.message.id ?? 0) > ($1.last.message.timestamp, $1.last.message.id ?? 0)
            }
        }
    }

    /// One conversation's unread count (at most `unreadCountCap`): what the prompt needs when a
    /// message arrives, without listing every conversation.
    public func unreadCount(accountID: Int64, conversation: String) throws -> Int {
        try read { db in
            let lastRead = try Self.conversationView(db, accountID, conversation)?.lastReadID ?? 0
            return try Self.unreadCount(
                db, accountID, conversation, after: lastRead, ourNick: Self.room(db, accountID, conversation)?.currentNick)
        }
    }

    /// The newest message id the user had seen in the conversation (0 when none).
    public func lastReadID(accountID: Int64, conversation: String) throws -> Int64 {
        try read { db in try Self.conversationView(db, accountID, conversation)?.lastReadID ?? 0 }
    }

    /// The user has seen the conversation up to message `upTo`, or all of it when nil. It is
    /// open again if it was closed. The read mark never moves back.
    public func markRead(accountID: Int64, conversation: String, upTo: Int64? = nil) throws {
        try write { db in
            // Ids only grow: every message of the conversation stored so far is at most the newest id of all.
            let newest = try upTo ?? Int64.fetchOne(db, sql: "SELECT max(id) FROM message") ?? 0
            try db.execute(
                sql: """
                    INSERT INTO conversation_view (account_id, conversation, last_read_id) VALUES (?, ?, ?)
                    ON CONFLICT (account_id, conversation) DO UPDATE SET
                        last_read_id = max(last_read_id, excluded.last_read_id), closed_at = NULL, closed_through_id = NULL
                    """,
                arguments: [accountID, conversation, newest])
            try Self.flagRead(db, accountID, conversation, upTo: newest)
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
                    INSERT INTO conversation_view (account_id, conversation, last_read_id, closed_at, closed_through_id)
                    VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (account_id, conversation) DO UPDATE SET
                        last_read_id = max(last_read_id, excluded.last_read_id), closed_at = excluded.closed_at,
                        closed_through_id = excluded.closed_through_id
                    """,
                arguments: [accountID, conversation, newest, now, newest])
            try Self.flagRead(db, accountID, conversation, upTo: newest)
        }
    }

    // MARK: - Internals

    struct ConversationView {
        let lastReadID: Int64
        let closedAt: Double?
        let closedThroughID: Int64?

        init(row: Row) {
            lastReadID = row["last_read_id"]
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

    /// A range of the unread index (0019), at most `unreadCountCap` rows. In a room, lines under
    /// our own nick (sent from another client of ours) are not waiting for us.
    static let unreadCountSQL = """
        SELECT count(*) FROM (
            SELECT 1 FROM message
            WHERE account_id = ?1 AND conversation = ?2 AND direction = 'in' AND is_read = 0 AND id > ?3
              AND (?4 IS NULL OR nick IS NULL OR nick <> ?4)
            LIMIT ?5)
        """

    static func unreadCount(_ db: Database, _ accountID: Int64, _ conversation: String, after lastRead: Int64, ourNick: String?) throws -> Int {
        try Int.fetchOne(db, sql: unreadCountSQL, arguments: [accountID, conversation, lastRead, ourNick, unreadCountCap]) ?? 0
    }

    /// Read messages leave the unread index, so it holds what is waiting rather than the
    /// history. At most `flagReadBatch` at a time: a conversation with a huge backlog (an archive
    /// catch-up nobody read) must not make opening it slow. Counts do not depend on it (they
    /// take only ids above the read mark); each later read takes the next batch out.
    static let flagReadBatch = 2000

    static func flagRead(_ db: Database, _ accountID: Int64, _ conversation: String, upTo: Int64) throws {
        try db.execute(
            sql: """
                UPDATE message SET is_read = 1 WHERE id IN (
                    SELECT id FROM message
                    WHERE account_id = ? AND conversation = ? AND direction = 'in' AND is_read = 0 AND id <= ?
                    LIMIT ?)
                """,
            arguments: [accountID, conversation, upTo, flagReadBatch])
    }
}
