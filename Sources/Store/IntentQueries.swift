/// Intents (migration 0016): every outgoing action other than a message, written by any tern
/// process and carried out once by the connection's owner (DESIGN §2, issue 13).
///
/// Each change of state is one conditional UPDATE in one transaction, so the owner taking a
/// row (queued → sent) races safely with a cancel in another process: whichever commits
/// first decides.
import GRDB

extension Store {
    /// Writes the intent and commits before returning.
    @discardableResult
    public func enqueueIntent(_ intent: Intent) throws -> Intent {
        try write { db in
            var row = intent
            try row.insert(db)
            return row
        }
    }

    /// How far a file intent's upload is; a reader in any process draws its progress bar.
    public func setIntentProgress(id: Int64, bytes: Int64) throws {
        try write { db in try db.execute(sql: "UPDATE intent SET progress = ? WHERE id = ?", arguments: [bytes, id]) }
    }

    public func intent(id: Int64) throws -> Intent? {
        try read { db in try Intent.fetchOne(db, key: id) }
    }

    /// Queued intents the owner may carry out now, oldest first. A room action waits (still
    /// queued) until its room is joined: only an occupant may act in it (XEP-0045).
    public func readyIntents(accountID: Int64, kinds: [Intent.Kind]? = nil) throws -> [Intent] {
        let kindFilter = kinds.map { "AND kind IN (\(databaseQuestionMarks(count: $0.count)))" } ?? ""
        return try read { db in
            try Intent.fetchAll(
                db,
                sql: """
                    SELECT * FROM intent
                    WHERE account_id = ? AND state = 'queued' \(kindFilter)
                      AND (kind NOT LIKE 'room-%'
                           OR target IN (SELECT jid FROM room WHERE account_id = intent.account_id AND state = 'joined'))
                    ORDER BY id
                    """,
                arguments: [accountID] + StatementArguments((kinds ?? []).map(\.rawValue)))
        }
    }

    /// Every intent of the account not finished with (queued, sent, failed), oldest first; the
    /// details refreshes `tern info` asks for are not listed.
    public func intents(accountID: Int64, includeFinished: Bool = false) throws -> [Intent] {
        try read { db in
            var request = Intent.filter(
                Column("account_id") == accountID && Intent.Kind.allCases.filter(\.isListed).map(\.rawValue).contains(Column("kind")))
            if !includeFinished {
                request = request.filter([Intent.State.queued, .sent, .failed].map(\.rawValue).contains(Column("state")))
            }
            return try request.order(Column("id")).fetchAll(db)
        }
    }

    /// The owner takes a queued intent to carry it out: queued → sent, one more attempt.
    /// False when it is no longer queued (cancelled meanwhile, or taken by another run).
    public func takeIntent(id: Int64) throws -> Bool {
        try write { db in
            try db.execute(
                sql: "UPDATE intent SET state = 'sent', attempts = attempts + 1 WHERE id = ? AND state = 'queued'", arguments: [id])
            return db.changesCount == 1
        }
    }

    /// Done, or failed with the reason; either way it is never carried out again.
    public func finishIntent(id: Int64, error: String? = nil) throws {
        try write { db in
            try db.execute(
                sql: "UPDATE intent SET state = ?, error = ?, done_at = ? WHERE id = ? AND state IN ('queued', 'sent')",
                arguments: [error == nil ? Intent.State.done.rawValue : Intent.State.failed.rawValue, error, Store.now, id])
        }
    }

    /// The link went away before the outcome was known: queued again for the next session.
    public func requeueIntent(id: Int64) throws {
        try write { db in try db.execute(sql: "UPDATE intent SET state = 'queued' WHERE id = ? AND state = 'sent'", arguments: [id]) }
    }

    /// A new session: what a lost link or a killed owner left taken is queued again. Every
    /// kind is safe to do twice (a subject, a roster set, a ban are the same again).
    @discardableResult
    public func requeueTakenIntents(accountID: Int64) throws -> Int {
        try write { db in
            try db.execute(sql: "UPDATE intent SET state = 'queued' WHERE account_id = ? AND state = 'sent'", arguments: [accountID])
            return db.changesCount
        }
    }

    /// How `tern outbox` names an intent: `i` and its number (outbox message ids are hex UUIDs,
    /// so the two never meet).
    public static func outboxID(of intent: Intent) -> String { "i\(intent.id ?? 0)" }

    /// The intent `text` names (`i12`), or nil when `text` is no intent id at all.
    public func intent(matching text: String, accountID: Int64) throws -> Intent? {
        guard let number = Self.intentNumber(text) else { return nil }
        let found = try read { db in
            try Intent.filter(Column("account_id") == accountID && Column("id") == number).fetchOne(db)
        }
        guard let found else { throw OutboxEditError.unknownID(text) }
        return found
    }

    static func intentNumber(_ text: String) -> Int64? {
        guard text.first == "i" || text.first == "I" else { return nil }
        return Int64(text.dropFirst())
    }

    /// Cancels a queued intent that was never taken: it will not be carried out.
    @discardableResult
    public func cancelIntent(_ intent: Intent) throws -> Intent {
        try write { db in
            try db.execute(
                // A file upload under way stops too: the uploader sees the state and aborts.
                sql: """
                    UPDATE intent SET state = 'cancelled', done_at = ?
                    WHERE id = ? AND ((state = 'queued' AND attempts = 0) OR (kind = 'file' AND state IN ('queued', 'sent')))
                    """,
                arguments: [Store.now, intent.id])
            let changed = db.changesCount == 1
            let current = try Intent.fetchOne(db, key: intent.id) ?? intent
            guard changed else {
                if current.state == .queued { throw OutboxEditError.alreadySent(id: Self.outboxID(of: current)) }
                throw OutboxEditError.intentNotQueued(id: Self.outboxID(of: current), state: current.state)
            }
            return current
        }
    }

    /// Queues a failed intent again, its error cleared.
    @discardableResult
    public func retryIntent(_ intent: Intent) throws -> Intent {
        try write { db in
            try db.execute(
                sql: "UPDATE intent SET state = 'queued', error = NULL, done_at = NULL WHERE id = ? AND state = 'failed'",
                arguments: [intent.id])
            let changed = db.changesCount == 1
            let current = try Intent.fetchOne(db, key: intent.id) ?? intent
            guard changed else { throw OutboxEditError.intentNotFailed(id: Self.outboxID(of: current), state: current.state) }
            return current
        }
    }
}
