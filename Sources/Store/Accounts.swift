import GRDB

/// Account and credential queries.
extension Store {
    public func accounts() throws -> [Account] {
        try read { db in try Account.order(Column("id")).fetchAll(db) }
    }

    public func account(jid: String) throws -> Account? {
        try read { db in try Account.filter(Column("jid") == jid).fetchOne(db) }
    }

    /// The account to use when none is named: the one marked default, else the only one
    /// not deleted, else the only one at all (so commands can say it was deleted).
    public func defaultAccount() throws -> Account? {
        try read { db in
            let all = try Account.order(Column("id")).fetchAll(db)
            let live = all.filter { $0.state != .deleted }
            return live.first(where: \.isDefault) ?? (live.count == 1 ? live[0] : nil) ?? (all.count == 1 ? all[0] : nil)
        }
    }

    /// Inserts or updates an account by JID, with its credential, in one transaction.
    /// The first account becomes the default.
    @discardableResult
    public func saveAccount(_ account: Account, credential: Credential?) throws -> Account {
        try write { db in
            var account = account
            if let existing = try Account.filter(Column("jid") == account.jid).fetchOne(db) {
                account.id = existing.id
                account.isDefault = existing.isDefault
                account.createdAt = existing.createdAt
                try account.update(db)
            } else {
                account.isDefault = try Account.fetchCount(db) == 0
                try account.insert(db)
            }
            if var credential, let id = account.id {
                credential.accountID = id
                try credential.save(db)
            }
            return account
        }
    }

    /// Writes the account's settings. The default flag is kept as stored: only
    /// `saveAccount` (first account) and `setDefaultAccount` move it, so a stale copy held
    /// by a long-running process can never leave two defaults.
    public func updateAccount(_ account: Account) throws {
        try write { db in
            var account = account
            if let id = account.id,
                let stored = try Bool.fetchOne(db, sql: "SELECT is_default FROM account WHERE id = ?", arguments: [id])
            {
                account.isDefault = stored
            }
            try account.update(db)
        }
    }

    /// Makes `jid` the one default account, in one transaction; nil when no such account
    /// is stored (then nothing changes).
    @discardableResult
    public func setDefaultAccount(jid: String) throws -> Account? {
        try write { db in
            guard var chosen = try Account.filter(Column("jid") == jid).fetchOne(db) else { return nil }
            try db.execute(sql: "UPDATE account SET is_default = 0 WHERE is_default != 0 AND id != ?", arguments: [chosen.id])
            chosen.isDefault = true
            try chosen.update(db)
            return chosen
        }
    }

    public func credential(accountID: Int64) throws -> Credential? {
        try read { db in try Credential.fetchOne(db, key: accountID) }
    }

    public func saveCredential(_ credential: Credential) throws {
        try write { db in try credential.save(db) }
    }

    public func deleteCredential(accountID: Int64) throws {
        _ = try write { db in try Credential.deleteOne(db, key: accountID) }
    }

    public func syncState(accountID: Int64) throws -> SyncState {
        try read { db in try SyncState.fetchOne(db, key: accountID) } ?? SyncState(accountID: accountID)
    }

    /// Records the connection state the owning process reports, for `tern` in other terminals.
    public func setConnectionState(accountID: Int64, _ state: String, error: String? = nil) throws {
        try write { db in
            var sync = try SyncState.fetchOne(db, key: accountID) ?? SyncState(accountID: accountID)
            sync.connection = state
            sync.lastError = error
            sync.updatedAt = Store.now
            try sync.save(db)
        }
    }
}

extension Store {
    /// Marks an account deleted on the server: it is never connected again, its credentials
    /// are dropped, and with `purge` its history and outbox go too (the account row with them).
    public func markDeleted(accountID: Int64, purge: Bool) throws {
        try write { db in
            if purge {
                _ = try Account.deleteOne(db, key: accountID)  // cascades to messages, outbox, credential, sync state
                return
            }
            try db.execute(sql: "UPDATE account SET state = 'deleted', is_default = 0 WHERE id = ?", arguments: [accountID])
            try db.execute(sql: "DELETE FROM credential WHERE account_id = ?", arguments: [accountID])
            try db.execute(
                sql: "UPDATE outbox SET state = 'failed', error = 'account deleted' WHERE account_id = ? AND state = 'queued'",
                arguments: [accountID])
        }
    }
}
