import GRDB

/// Per-conversation alert policies (migration 0018): `all`, `mentions` or `none`.
extension Store {
    public func alertPolicy(accountID: Int64, conversation: String) throws -> String? {
        try read { db in
            try String.fetchOne(
                db, sql: "SELECT policy FROM conversation_alert WHERE account_id = ? AND conversation = ?",
                arguments: [accountID, conversation])
        }
    }

    /// Stores the policy, or forgets it (back to the default) when nil.
    public func setAlertPolicy(accountID: Int64, conversation: String, policy: String?) throws {
        try write { db in
            if let policy {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO conversation_alert (account_id, conversation, policy) VALUES (?, ?, ?)",
                    arguments: [accountID, conversation, policy])
            } else {
                try db.execute(
                    sql: "DELETE FROM conversation_alert WHERE account_id = ? AND conversation = ?", arguments: [accountID, conversation])
            }
        }
    }
}
