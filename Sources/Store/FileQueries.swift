import GRDB

/// Files offered to us: listing them and following one download (`tern files`, `tern download`).
extension Store {
    /// Every file of the account, newest first; offers whose message was retracted are gone.
    public func files(accountID: Int64, limit: Int = 500) throws -> [FileTransfer] {
        try read { db in
            try FileTransfer.fetchAll(
                db,
                sql: """
                    SELECT f.* FROM file_transfer f LEFT JOIN message m ON m.id = f.message_id
                    WHERE f.account_id = ? AND m.retracted_at IS NULL
                    ORDER BY f.id DESC LIMIT ?
                    """,
                arguments: [accountID, limit])
        }
    }

    public func file(accountID: Int64, id: Int64) throws -> FileTransfer? {
        try read { db in
            try FileTransfer.fetchOne(db, sql: "SELECT * FROM file_transfer WHERE account_id = ? AND id = ?", arguments: [accountID, id])
        }
    }

    /// The file offered by a stored message, if it offers one.
    public func file(forMessage messageID: Int64) throws -> FileTransfer? {
        try read { db in try FileTransfer.fetchOne(db, sql: "SELECT * FROM file_transfer WHERE message_id = ?", arguments: [messageID]) }
    }

    /// Records how a download stands: `downloading`, `done` with its path and size, `failed`
    /// with the reason, or back to `offered` (cancelled).
    @discardableResult
    public func updateFile(
        id: Int64, state: FileTransfer.State, path: String? = nil, size: Int64? = nil, error: String? = nil
    ) throws -> FileTransfer? {
        try write { db in
            try db.execute(
                sql: """
                    UPDATE file_transfer SET state = ?, path = coalesce(?, path), size = coalesce(?, size), error = ?, updated_at = ?
                    WHERE id = ?
                    """,
                arguments: [state.rawValue, path, size, error, Store.now, id])
            return try FileTransfer.fetchOne(db, key: id)
        }
    }
}
