import GRDB

/// History read as a stream: `history` and `export` hand each row to the caller as SQLite
/// steps to it, so memory stays flat however many rows there are (issue 12 §3).
///
/// Rows are decoded by column position from a fixed column list, not through Codable, which
/// costs more than the rest of the read.
extension Store {
    /// Which messages to stream, oldest first (by conversation first when there is none).
    public struct MessageRange: Sendable, Equatable {
        public var accountID: Int64
        /// One conversation, or all of them.
        public var conversation: String?
        /// Only messages at or after this time (unix seconds).
        public var after: Double?
        /// Only messages before this time.
        public var before: Double?
        /// Only the newest `newest` of the range (still streamed oldest first); one conversation only.
        public var newest: Int?

        public init(accountID: Int64, conversation: String? = nil, after: Double? = nil, before: Double? = nil, newest: Int? = nil) {
            self.accountID = accountID
            self.conversation = conversation
            self.after = after
            self.before = before
            self.newest = newest
        }
    }

    static let streamedColumns = """
        message.id, message.account_id, message.conversation, message.direction, message.type, message.sender,
        message.recipient, message.nick, message.body, message.timestamp, message.received_at, message.stanza_key,
        message.origin_id, message.stanza_id, message.dedup_key, message.outbox_id, message.is_read,
        message.edited_at, message.retracted_at, outbox.state
        """

    /// Calls `body` with each message of `range` in order, inside one read transaction (a
    /// consistent snapshot; writers are not blocked in WAL mode). Throwing from `body` stops.
    public func streamMessages(_ range: MessageRange, _ body: (HistoryEntry) throws -> Void) throws {
        try pool.read { db in
            var conditions = ["message.account_id = ?"]
            var arguments: StatementArguments = [range.accountID]
            if let conversation = range.conversation {
                conditions.append("message.conversation = ?")
                arguments += [conversation]
            }
            if let after = range.after {
                conditions.append("message.timestamp >= ?")
                arguments += [after]
            }
            if let before = range.before {
                conditions.append("message.timestamp < ?")
                arguments += [before]
            }
            // The newest N, oldest first, without holding N rows: find the oldest of them
            // (walking the time index backwards), then stream forwards from it.
            if let newest = range.newest, range.conversation != nil {
                let boundary = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT timestamp, id FROM message WHERE \(conditions.joined(separator: " AND "))
                        ORDER BY timestamp DESC, id DESC LIMIT 1 OFFSET ?
                        """,
                    arguments: arguments + [max(newest - 1, 0)])
                if let boundary {
                    let time: Double = boundary[0]
                    let id: Int64 = boundary[1]
                    conditions.append("(message.timestamp > ? OR (message.timestamp = ? AND message.id >= ?))")
                    arguments += [time, time, id]
                }
            }
            let order = range.conversation == nil ? "message.conversation, message.timestamp, message.id" : "message.timestamp, message.id"
            let cursor = try Row.fetchCursor(
                db,
                sql: """
                    SELECT \(Self.streamedColumns) FROM message
                    LEFT JOIN outbox ON outbox.id = message.outbox_id
                    WHERE \(conditions.joined(separator: " AND "))
                    ORDER BY \(order)
                    """,
                arguments: arguments)
            while let row = try cursor.next() {
                try body(Self.historyEntry(row))
            }
        }
    }

    /// A row of `streamedColumns`, by position.
    static func historyEntry(_ row: Row) -> HistoryEntry {
        var message = StoredMessage(
            accountID: row[1], conversation: row[2],
            direction: StoredMessage.Direction(rawValue: row[3]) ?? .incoming, type: row[4],
            sender: row[5], recipient: row[6], nick: row[7], body: row[8], timestamp: row[9], receivedAt: row[10],
            stanzaKey: row[11], originID: row[12], stanzaID: row[13], dedupKey: row[14], outboxID: row[15],
            isRead: row[16])
        message.id = row[0]
        message.editedAt = row[17]
        message.retractedAt = row[18]
        let state: String? = row[19]
        return HistoryEntry(message: message, state: state.flatMap(OutboxItem.State.init(rawValue:)))
    }
}
