import GRDB

/// The saved XEP-0198 session of each account (migration 0005), and the outbox moves that
/// must commit together with it.
extension Store {
    /// The saved session state (opaque JSON), or nil when there is nothing to resume.
    public func streamManagementState(accountID: Int64) throws -> String? {
        try read { db in
            try String.fetchOne(db, sql: "SELECT sm_state FROM sync_state WHERE account_id = ?", arguments: [accountID])
        }
    }

    /// Saves (or, with nil, forgets) the session state.
    public func saveStreamManagementState(accountID: Int64, _ state: String?) throws {
        try write { db in try Self.saveStreamManagementState(db, accountID: accountID, state) }
    }

    /// Marks outbox rows sent and saves the session state that counts them, in one
    /// transaction: either both happen or neither, so a crash cannot lose track of a row.
    /// A row already sent (a resend) stays sent and counts one more attempt. Throws
    /// `OutboxChangedError`, changing nothing, when a row is no longer queued or sent.
    public func markOutboxSent(accountID: Int64, ids: [String], streamManagementState state: String?) throws {
        guard !ids.isEmpty || state != nil else { return }
        try write { db in
            if !ids.isEmpty {
                try db.execute(
                    sql: """
                        UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_at = ?
                        WHERE id IN (\(databaseQuestionMarks(count: ids.count))) AND state IN ('queued', 'sent')
                        """,
                    arguments: [Store.now] + StatementArguments(ids))
                // A row cancelled since it was read must not go out: roll back, and let the caller read again.
                guard db.changesCount == ids.count else { throw OutboxChangedError() }
            }
            if let state { try Self.saveStreamManagementState(db, accountID: accountID, state) }
        }
    }

    /// What a new or resumed stream settles, with the state of the stream that starts, in one
    /// transaction: rows the server confirmed while we reconnected become acked, and rows it
    /// never got go back to the queue (oldest first by seq, so order holds). Done together so
    /// that no crash can drop a row from the saved state without putting it back in the queue.
    public func beginStreamSession(
        accountID: Int64, acknowledged: [String], requeue: [String], streamManagementState state: String?
    ) throws {
        try write { db in
            for (ids, newState) in [(acknowledged, "acked"), (requeue, "queued")] where !ids.isEmpty {
                try db.execute(
                    sql: "UPDATE outbox SET state = ? WHERE id IN (\(databaseQuestionMarks(count: ids.count))) AND state = 'sent'",
                    arguments: [newState] + StatementArguments(ids))
            }
            try Self.saveStreamManagementState(db, accountID: accountID, state)
        }
    }

    private static func saveStreamManagementState(_ db: Database, accountID: Int64, _ state: String?) throws {
        try db.execute(
            sql: """
                INSERT INTO sync_state (account_id, sm_state) VALUES (?, ?)
                ON CONFLICT(account_id) DO UPDATE SET sm_state = excluded.sm_state
                """,
            arguments: [accountID, state])
    }
}

/// An outbox row changed state (it was cancelled) between being read and being sent.
public struct OutboxChangedError: Error, CustomStringConvertible {
    public var description: String { "the outbox changed while it was being sent" }
}
