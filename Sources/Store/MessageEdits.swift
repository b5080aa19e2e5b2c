import GRDB

/// Corrections (XEP-0308) and retractions (XEP-0424) applied to stored history.
///
/// An edit changes only `message.body` (and its own timestamp column): the search index follows
/// the body by itself, so nothing here writes to it. The target is looked up among the newest
/// `searchDepth` messages of the conversation through the (account, conversation, time) index,
/// with no index of its own: edits refer to recent messages, and every index on `message`
/// costs the ingest path (DESIGN §7).
extension Store {
    public static let editSearchDepth = 2_000

    /// What a burst with edits did: the rows edits changed, and the rows stored as messages.
    public struct EditOutcome: Sendable, Equatable {
        public var inserted: [StoredMessage] = []
        public var edited: [StoredMessage] = []

        public init(inserted: [StoredMessage] = [], edited: [StoredMessage] = []) {
            self.inserted = inserted
            self.edited = edited
        }

        /// Both, for the events a burst emits.
        public var changed: [StoredMessage] { inserted + edited }
    }

    /// Stores a burst: ordinary rows first (an edit may name a message of the same burst), then
    /// each edit in order. A correction that finds no message of its sender to correct is kept
    /// as an ordinary message (its text is what the sender said); a retraction that finds none
    /// is dropped, fallback text and all.
    public func insertApplyingEdits(_ messages: [StoredMessage]) throws -> EditOutcome {
        let plain = messages.filter { $0.edit == nil }
        let edits = messages.filter { $0.edit != nil }
        var outcome = EditOutcome(inserted: try insertMessages(plain))
        guard !edits.isEmpty else { return outcome }
        let (edited, unmatched) = try applyEdits(edits)
        outcome.edited = edited
        outcome.inserted += try insertMessages(unmatched)
        return outcome
    }

    /// Applies each edit in one transaction. Returns the rows changed, and the corrections
    /// that matched nothing, turned into ordinary rows.
    func applyEdits(_ edits: [StoredMessage]) throws -> (edited: [StoredMessage], unmatched: [StoredMessage]) {
        try write { db in
            var edited: [StoredMessage] = []
            var unmatched: [StoredMessage] = []
            for edit in edits {
                guard let request = edit.edit else { continue }
                switch try Self.editTarget(db, of: edit, request: request) {
                case .found(let target):
                    edited.append(try Self.apply(request.kind, body: edit.body, at: edit.timestamp, to: target, db))
                case .retracted:
                    break  // e.g. an archive replaying a correction of what was retracted since
                case .none where request.kind == .correction:
                    var message = edit
                    message.edit = nil
                    unmatched.append(message)
                case .none:
                    break
                }
            }
            return (edited, unmatched)
        }
    }

    /// Changes the row's body: the new text, or nothing for a retraction.
    static func apply(_ kind: EditRequest.Kind, body: String, at time: Double, to target: StoredMessage, _ db: Database) throws
        -> StoredMessage
    {
        var target = target
        switch kind {
        case .correction:
            target.body = body
            target.editedAt = time
            try db.execute(
                sql: "UPDATE message SET body = ?, edited_at = ? WHERE id = ?", arguments: [body, time, target.id])
        case .retraction:
            target.body = ""
            target.retractedAt = time
            try db.execute(sql: "UPDATE message SET body = '', retracted_at = ? WHERE id = ?", arguments: [time, target.id])
        }
        return target
    }

    /// Queues our own correction or retraction of `target` and applies it to history at once,
    /// in one transaction. The outbox row stands alone: the edit is not a message in history.
    /// What the edit replaced is kept with the row (`outbox_edit`), so that cancelling it
    /// before it is sent puts the message back (`cancelOutbox`).
    ///
    /// Applied at once rather than once sent: the shell writes the store and never waits on
    /// the network (DESIGN §1: the transaction commits before the prompt returns), so history
    /// shows what the user did at once, offline too, as it does for a queued message, and every
    /// process reading the store sees the same. A cancel is then a local undo in one transaction.
    @discardableResult
    public func enqueueEdit(_ new: NewOutgoing, _ kind: EditRequest.Kind, of target: StoredMessage) throws -> (OutboxItem, StoredMessage) {
        let now = Store.now
        return try write { db in
            // As it is now, not as the caller read it: that is what a cancel must put back.
            let current = try target.id.flatMap { try StoredMessage.fetchOne(db, key: $0) } ?? target
            let item = try Self.insertOutboxRow(db, new, at: now)
            try db.execute(
                sql: """
                    INSERT INTO outbox_edit (outbox_id, message_id, applied_at, body, edited_at, retracted_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [item.id, current.id, now, current.body, current.editedAt, current.retractedAt])
            return (item, try Self.apply(kind, body: new.body, at: now, to: current, db))
        }
    }

    /// Undoes the edit a cancelled outbox row made to history; false when the row edits nothing.
    ///
    /// If the message still shows this edit, it gets back what the edit replaced. If a later
    /// edit has replaced it since, that one stays; a later edit of ours still queued recorded
    /// this edit's text as what it replaced, and takes this edit's record instead, so that
    /// cancelling it too gets back to the text the peer last saw.
    static func undoEdit(_ db: Database, of item: OutboxItem) throws -> Bool {
        guard let before = try Row.fetchOne(
            db, sql: "SELECT message_id, applied_at, body, edited_at, retracted_at FROM outbox_edit WHERE outbox_id = ?",
            arguments: [item.id])
        else { return false }
        let messageID: Int64 = before["message_id"]
        let appliedAt: Double = before["applied_at"]
        let body: String = before["body"]
        let editedAt: Double? = before["edited_at"]
        let retractedAt: Double? = before["retracted_at"]
        try db.execute(
            sql: """
                UPDATE message SET body = ?, edited_at = ?, retracted_at = ?
                WHERE id = ? AND (edited_at IS ?5 OR retracted_at IS ?5)
                """,
            arguments: [body, editedAt, retractedAt, messageID, appliedAt])
        if db.changesCount == 0 {
            try db.execute(
                sql: """
                    UPDATE outbox_edit SET body = ?, edited_at = ?, retracted_at = ?
                    WHERE message_id = ? AND outbox_id != ? AND (edited_at IS ?6 OR retracted_at IS ?6)
                    """,
                arguments: [body, editedAt, retractedAt, messageID, item.id, appliedAt])
        }
        try db.execute(sql: "DELETE FROM outbox_edit WHERE outbox_id = ?", arguments: [item.id])
        return true
    }

    /// Our newest message in the conversation that is not retracted, among its recent ones:
    /// what `/correct` and `/retract` act on.
    public func lastOwnMessage(accountID: Int64, conversation: String) throws -> StoredMessage? {
        try read { db in
            try StoredMessage.fetchOne(
                db,
                sql: """
                    SELECT * FROM (
                        SELECT * FROM message WHERE account_id = ? AND conversation = ?
                        ORDER BY timestamp DESC LIMIT ?)
                    WHERE direction = 'out' AND retracted_at IS NULL
                    ORDER BY timestamp DESC LIMIT 1
                    """,
                arguments: [accountID, conversation, Self.editSearchDepth])
        }
    }

    /// Our own message in the conversation with this row id (as `history --json` shows it) or
    /// this outbox id, if not yet retracted.
    public func ownMessage(accountID: Int64, conversation: String, id: String) throws -> StoredMessage? {
        try read { db in
            let byRowID = "SELECT * FROM message WHERE id = ? AND account_id = ? AND conversation = ?"
            let byOutboxID = "SELECT * FROM message WHERE dedup_key = ? AND account_id = ? AND conversation = ?"
            let message = try StoredMessage.fetchOne(
                db, sql: Int64(id) != nil ? byRowID : byOutboxID, arguments: [id, accountID, conversation])
            guard let message, message.direction == .outgoing, message.retractedAt == nil else { return nil }
            return message
        }
    }

    enum EditTarget {
        case found(StoredMessage)
        /// The sender's message, retracted already: nothing is left to change.
        case retracted
        case none
    }

    /// The newest message among the conversation's recent ones that carries the named id and
    /// that the edit's sender wrote.
    static func editTarget(_ db: Database, of edit: StoredMessage, request: EditRequest) throws -> EditTarget {
        let candidates = try StoredMessage.fetchAll(
            db,
            sql: """
                SELECT * FROM (
                    SELECT * FROM message WHERE account_id = ? AND conversation = ?
                    ORDER BY timestamp DESC LIMIT ?)
                WHERE stanza_key = ?4 OR origin_id = ?4 OR stanza_id = ?4
                ORDER BY timestamp DESC
                """,
            arguments: [edit.accountID, edit.conversation, editSearchDepth, request.targetID])
        guard let target = candidates.first(where: { EditRules.sameSender(original: $0, edit: edit) }) else { return .none }
        return target.retractedAt == nil ? .found(target) : .retracted
    }
}

/// Who may edit what: only the original sender (XEP-0308 §4 "Business Rules" with its note,
/// and §5; XEP-0424 "Business Rules": the same bare JID one to one, the same occupant in a room).
public enum EditRules {
    /// - Our own messages (outgoing rows) only by us: a sent carbon, our archive, our shell.
    /// - In a room, the same occupant, by the strongest identity both rows carry, since a nick
    ///   can change hands between two messages (XEP-0308 §5):
    ///   1. the XEP-0421 occupant-id, stable for one real bare JID across renames and rejoins
    ///      (XEP-0421 §4, and the only check XEP-0424 names for semi-anonymous rooms); it is
    ///      stored only when the room advertises the feature, so it cannot be forged;
    ///   2. else the real bare JID the room revealed in the occupant's presence;
    ///   3. else the same nick, on an incoming row. That is the limit: in a semi-anonymous room
    ///      without XEP-0421, and for rows only the archive or the join history delivered (no
    ///      presence to read a real JID from), whoever holds the nick when the edit arrives
    ///      passes, even if it changed hands since the original (XEP-0308 §5 asks to refuse
    ///      that; with neither identity a receiver cannot tell).
    /// - Otherwise the same bare JID (the same full JID in a room's private chat, whose
    ///   conversation is one occupant).
    public static func sameSender(original: StoredMessage, edit: StoredMessage) -> Bool {
        guard original.conversation == edit.conversation, original.direction == edit.direction else { return false }
        if edit.direction == .outgoing { return true }
        if edit.type == "groupchat" || original.type == "groupchat" {
            guard edit.type == original.type else { return false }
            return sameOccupant(original, edit)
        }
        if edit.conversation.contains("/") { return original.sender == edit.sender }
        return bare(original.sender) == bare(edit.sender)
    }

    private static func sameOccupant(_ original: StoredMessage, _ edit: StoredMessage) -> Bool {
        if let id = edit.occupantID, let originalID = original.occupantID { return id == originalID }
        if let jid = edit.senderRealJID, let originalJID = original.senderRealJID {
            return jid.lowercased() == originalJID.lowercased()
        }
        guard let nick = edit.nick, !nick.isEmpty else { return false }
        return original.nick == nick
    }

    private static func bare(_ jid: String) -> Substring {
        jid.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    }
}
