/// Outbox edits by the user, XEP-0359 §3: a retried message keeps its id and origin-id, so the
/// stanza text (and receipt matching) stay the same; a cancelled one never leaves this machine.
///
/// Each edit is one conditional UPDATE inside one write transaction, so it races safely with the
/// flusher's queued → sent update in another process: whichever commits first decides.
import GRDB

/// Why an outbox edit changed nothing. Every case is one line for the user.
public enum OutboxEditError: Error, Equatable, CustomStringConvertible {
    /// A prefix shorter than `Store.minimumOutboxIDPrefix` that is not a whole id.
    case idTooShort(String)
    case unknownID(String)
    /// The prefix and (up to a few of) the ids it matches.
    case ambiguousID(String, matches: [String])
    /// Only a queued row can be cancelled.
    case notQueued(id: String, state: OutboxItem.State)
    /// Queued again after a stream ended unconfirmed: the server may already have it.
    case alreadySent(id: String)
    /// Only a failed row can be retried.
    case notFailed(id: String, state: OutboxItem.State)
    /// The same two, for an intent (a room action, a roster edit, …).
    case intentNotQueued(id: String, state: Intent.State)
    case intentNotFailed(id: String, state: Intent.State)

    public var description: String {
        switch self {
        case .idTooShort(let text):
            return "outbox id \"\(text)\" is too short: give at least \(Store.minimumOutboxIDPrefix) characters"
        case .unknownID(let text):
            return "no outbox entry with id \(text)"
        case .ambiguousID(let text, let matches):
            return "outbox id \(text) is ambiguous: it matches \(matches.joined(separator: ", ")); give more characters"
        case .notQueued(let id, let state):
            switch state {
            case .cancelled: return "\(id) is already cancelled"
            case .failed: return "\(id) has failed, not queued: only a queued message can be cancelled (retry it instead)"
            default: return "\(id) is \(state.rawValue), not queued: only a queued message can be cancelled"
            }
        case .notFailed(let id, let state):
            return "\(id) is \(state.rawValue), not failed: only a failed message can be retried"
        case .intentNotQueued(let id, let state):
            return "\(id) is \(state.rawValue), not queued: only a queued action can be cancelled"
        case .intentNotFailed(let id, let state):
            return "\(id) is \(state.rawValue), not failed: only a failed action can be retried"
        case .alreadySent(let id):
            return "\(id) was already sent once and is queued to be sent again: it may have arrived, so it cannot be cancelled"
        }
    }
}

extension Store {
    /// Shortest accepted id prefix: UUIDs are long, and 4 hex digits rarely collide in one outbox.
    public static let minimumOutboxIDPrefix = 4

    /// The account's outbox row whose id is `text`, or starts with it (ASCII case ignored).
    public func outboxItem(matching text: String, accountID: Int64) throws -> OutboxItem {
        try read { db in try Self.resolveOutboxItem(db, text, accountID: accountID) }
    }

    /// Cancels a queued message and deletes its history entry in the same transaction: it was
    /// never sent, so it must not show as said. A queued correction or retraction has no entry
    /// of its own: the message it edited is put back as it was (`undoEdit`). Returns the row,
    /// now `cancelled`.
    @discardableResult
    public func cancelOutbox(matching text: String, accountID: Int64) throws -> OutboxItem {
        try write { db in
            var item = try Self.resolveOutboxItem(db, text, accountID: accountID)
            try db.execute(
                sql: "UPDATE outbox SET state = ? WHERE id = ? AND state = ? AND attempts = 0",
                arguments: [OutboxItem.State.cancelled.rawValue, item.id, OutboxItem.State.queued.rawValue])
            guard db.changesCount == 1 else {
                if item.state == .queued, item.attempts > 0 { throw OutboxEditError.alreadySent(id: item.id) }
                throw OutboxEditError.notQueued(id: item.id, state: item.state)
            }
            if try !Self.undoEdit(db, of: item) { try Self.deleteHistoryEntry(db, of: item) }
            item.state = .cancelled
            return item
        }
    }

    /// Puts a failed message back in the queue with its error cleared. Its seq is kept, so it
    /// goes out before rows queued after it, as creation order says.
    @discardableResult
    public func retryOutbox(matching text: String, accountID: Int64) throws -> OutboxItem {
        try write { db in
            var item = try Self.resolveOutboxItem(db, text, accountID: accountID)
            try db.execute(
                sql: "UPDATE outbox SET state = ?, error = NULL WHERE id = ? AND state = ?",
                arguments: [OutboxItem.State.queued.rawValue, item.id, OutboxItem.State.failed.rawValue])
            guard db.changesCount == 1 else { throw OutboxEditError.notFailed(id: item.id, state: item.state) }
            item.state = .queued
            item.error = nil
            return item
        }
    }

    /// An exact id wins; otherwise a prefix must be long enough and match exactly one row.
    private static func resolveOutboxItem(_ db: Database, _ text: String, accountID: Int64) throws -> OutboxItem {
        if let exact = try OutboxItem.filter(Column("account_id") == accountID && Column("id") == text).fetchOne(db) {
            return exact
        }
        guard text.count >= minimumOutboxIDPrefix else { throw OutboxEditError.idTooShort(text) }
        // substr (which counts characters) rather than LIKE: a typed `%` or `_` is no wildcard.
        let matches = try OutboxItem.fetchAll(
            db,
            sql: """
                SELECT * FROM outbox
                WHERE account_id = ? AND substr(id, 1, ?) = ? COLLATE NOCASE
                ORDER BY seq LIMIT 4
                """,
            arguments: [accountID, text.unicodeScalars.count, text])
        switch matches.count {
        case 0: throw OutboxEditError.unknownID(text)
        case 1: return matches[0]
        default: throw OutboxEditError.ambiguousID(text, matches: matches.prefix(3).map(\.id))
        }
    }

    /// The entry `enqueue` wrote: found through the dedup hash when the conversation is the
    /// recipient's bare JID (the 1:1 case), else by `outbox_id`, which has no index.
    private static func deleteHistoryEntry(_ db: Database, of item: OutboxItem) throws {
        let bare = item.recipient.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
            ?? item.recipient
        try db.execute(
            sql: """
                DELETE FROM message
                WHERE dedup_hash = ? AND account_id = ? AND conversation = ? AND dedup_key = ? AND outbox_id = ?
                """,
            arguments: [DedupHash.of(accountID: item.accountID, conversation: bare, key: item.id), item.accountID, bare, item.id, item.id])
        guard db.changesCount == 0 else { return }
        try db.execute(sql: "DELETE FROM message WHERE outbox_id = ?", arguments: [item.id])
    }
}
