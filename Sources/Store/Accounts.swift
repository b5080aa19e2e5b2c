import GRDB

/// Account and credential queries.
extension Store {
    public func accounts() throws -> [Account] {
        try read { db in try Account.order(Column("id")).fetchAll(db) }
    }

    public func account(jid: String) throws -> Account? {
        try read { db in try Account.filter(Column("jid") == jid).fetchOne(db) }
    }

    /// The account to use when none is named: the one marked default, else the only one.
    public func defaultAccount() throws -> Account? {
        try read { db in
            let live = try Account.filter(Column("state") != Account.State.deleted.rawValue).fetchAll(db)
            return live.first(where: \.isDefault) ?? (live.count == 1 ? live[0] : nil)
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

    public func updateAccount(_ account: Account) throws {
        try write { db in try account.update(db) }
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
