import GRDB

/// XEP-0313 bookkeeping: where our account's archive catch-up resumes, and the cursors
/// for fetching older history of one conversation.
extension Store {
    /// The newest archive id of our own account's archive that we have stored; nil before
    /// the first catch-up.
    public func archiveLastID(accountID: Int64) throws -> String? {
        try read { db in
            try String.fetchOne(db, sql: "SELECT mam_last_id FROM sync_state WHERE account_id = ?", arguments: [accountID])
        }
    }

    /// Records where the next catch-up resumes; nil forgets it (the next one fetches a recent window).
    public func setArchiveLastID(accountID: Int64, _ id: String?) throws {
        try write { db in
            try db.execute(
                sql: """
                    INSERT INTO sync_state (account_id, mam_last_id) VALUES (?, ?)
                    ON CONFLICT(account_id) DO UPDATE SET mam_last_id = excluded.mam_last_id
                    """,
                arguments: [accountID, id])
        }
    }

    /// Where older history of a conversation starts: the archive id (stanza-id) of its oldest
    /// message that has one, and the time of its oldest message of all.
    public func oldestArchiveCursor(accountID: Int64, conversation: String) throws -> (archiveID: String?, timestamp: Double?) {
        try read { db in
            let id = try String.fetchOne(
                db,
                sql: """
                    SELECT stanza_id FROM message
                    WHERE account_id = ? AND conversation = ? AND stanza_id IS NOT NULL
                    ORDER BY timestamp, id LIMIT 1
                    """,
                arguments: [accountID, conversation])
            let oldest = try Double.fetchOne(
                db, sql: "SELECT min(timestamp) FROM message WHERE account_id = ? AND conversation = ?",
                arguments: [accountID, conversation])
            return (id, oldest)
        }
    }

    /// Which of `stanzaIDs` a stored message of the conversation already carries: matches an
    /// archived copy to a live one when neither has an id of the sender's to dedupe on.
    public func knownStanzaIDs(accountID: Int64, conversation: String, among stanzaIDs: [String]) throws -> Set<String> {
        guard !stanzaIDs.isEmpty else { return [] }
        return try read { db in
            Set(try String.fetchAll(
                db,
                sql: """
                    SELECT stanza_id FROM message
                    WHERE account_id = ? AND conversation = ? AND stanza_id IN (\(databaseQuestionMarks(count: stanzaIDs.count)))
                    """,
                arguments: [accountID, conversation] + StatementArguments(stanzaIDs)))
        }
    }
}
