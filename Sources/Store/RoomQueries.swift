import GRDB

/// XEP-0045 §7 group chat in the store (migration 0007): the user's join intents, the state
/// each session reaches, occupants, the XEP-0402 bookmark mirror, invitations, and the
/// reflection of our own room messages (XEP-0359 stanza-id).
///
/// `wanted` is the user's intent and `state` is what the session achieved; Sync works to make
/// them agree. Each mutation is one transaction, so a reader never sees half a change.
extension Store {
    // MARK: - Rooms

    /// Every room of the account, by JID.
    public func rooms(accountID: Int64) throws -> [Room] {
        try read { db in try Self.rooms(db, accountID) }
    }

    public func room(accountID: Int64, jid: String) throws -> Room? {
        try read { db in try Self.room(db, accountID, jid) }
    }

    /// Inserts or replaces the row, stamping `updatedAt`.
    public func saveRoom(_ room: Room) throws {
        var stamped = room
        stamped.updatedAt = Store.now
        let row = stamped
        try write { db in try row.save(db) }
    }

    /// The user's `join`: the room becomes wanted and bookmarked (to be published), and its
    /// pending invitations count as accepted. A room that went away or refused us is tried again.
    @discardableResult
    public func wantRoom(accountID: Int64, jid: String, nick: String, password: String? = nil, autojoin: Bool) throws -> Room {
        let now = Store.now
        return try write { db in
            var room = try Self.room(db, accountID, jid) ?? Room(accountID: accountID, jid: jid, nick: nick, updatedAt: now)
            room.wanted = true
            room.nick = nick
            if let password {
                room.password = password
            } else if room.password == nil {
                // An invitation to a protected room carries its password: joining is how it is accepted.
                room.password = try String.fetchOne(
                    db,
                    sql: """
                        SELECT password FROM room_invite
                        WHERE account_id = ? AND room = ? AND state = 'pending' AND password IS NOT NULL
                        ORDER BY received_at DESC, id DESC LIMIT 1
                        """,
                    arguments: [accountID, jid])
            }
            room.autojoin = autojoin
            room.bookmarked = true
            room.bookmarkSync = .publish
            room.lastError = nil
            if room.state == .gone || room.state == .failed { room.state = .left }
            room.updatedAt = now
            try room.save(db)
            try db.execute(
                sql: "UPDATE room_invite SET state = 'accepted' WHERE account_id = ? AND room = ? AND state = 'pending'",
                arguments: [accountID, jid])
            return room
        }
    }

    /// The user's `leave`: no longer wanted nor autojoined; the bookmark stays, with autojoin
    /// off to be published. Nil when there is no such room.
    @discardableResult
    /// With `forget`, the bookmark itself goes: it is retracted from the server (XEP-0402 §3).
    public func leaveRoom(accountID: Int64, jid: String, forget: Bool = false) throws -> Room? {
        let now = Store.now
        return try write { db in
            guard var room = try Self.room(db, accountID, jid) else { return nil }
            room.wanted = false
            room.autojoin = false
            if forget {
                if room.bookmarked { room.bookmarkSync = .retract }
                room.bookmarked = false
            } else if room.bookmarked {
                room.bookmarkSync = .publish
            }
            room.updatedAt = now
            try room.update(db)
            return room
        }
    }

    /// Records what the session reached. `joinedNick` replaces ours; nil keeps it while
    /// joining or joined and clears it otherwise. `error` replaces `lastError` (nil clears).
    /// Occupants are dropped when we leave 'joined', and whenever the room is not being
    /// joined (left, gone, failed): without a session there is nobody to show.
    public func setRoomState(
        accountID: Int64, jid: String, state: Room.State, joinedNick: String? = nil, error: String? = nil
    ) throws {
        let now = Store.now
        try write { db in
            guard var room = try Self.room(db, accountID, jid) else { return }
            let previous = room.state
            let inSession = state == .joining || state == .joined
            room.state = state
            room.joinedNick = joinedNick ?? (inSession ? room.joinedNick : nil)
            room.lastError = error
            room.updatedAt = now
            try room.update(db)
            if (previous == .joined && state != .joined) || !inSession {
                try Self.deleteOccupants(db, accountID: accountID, room: jid)
            }
        }
    }

    /// A new session (or the end of one): every room being joined or joined is left, with no
    /// nick and no occupants. Returns how many rooms changed.
    @discardableResult
    public func resetRoomStates(accountID: Int64) throws -> Int {
        let now = Store.now
        return try write { db in
            try db.execute(
                sql: """
                    UPDATE room SET state = 'left', joined_nick = NULL, updated_at = ?
                    WHERE account_id = ? AND state IN ('joining', 'joined')
                    """,
                arguments: [now, accountID])
            let changed = db.changesCount
            try db.execute(sql: "DELETE FROM occupant WHERE account_id = ?", arguments: [accountID])
            return changed
        }
    }

    /// The room put us out for good (destroyed, gone, kicked, banned): no longer wanted, and,
    /// when `clearAutojoin`, its bookmark stops autojoining too (pushed to the server), so
    /// neither this nor another device creates the room anew by joining it. One statement:
    /// nothing read earlier is written back over a newer change.
    public func stopWantingRoom(accountID: Int64, jid: String, clearAutojoin: Bool) throws {
        try write { db in
            try db.execute(
                sql: """
                    UPDATE room SET wanted = 0, updated_at = ?,
                        autojoin = CASE WHEN ? THEN 0 ELSE autojoin END,
                        bookmark_sync = CASE WHEN ? AND bookmarked AND autojoin THEN 'publish' ELSE bookmark_sync END
                    WHERE account_id = ? AND jid = ?
                    """,
                arguments: [Store.now, clearAutojoin, clearAutojoin, accountID, jid])
        }
    }

    /// Our nick changed in the room (§7.6): ask for it on every rejoin too. A bookmarked room's
    /// bookmark is published again with it, or the next session's bookmark fetch would bring
    /// the old nick back.
    public func setRoomNick(accountID: Int64, jid: String, nick: String) throws {
        try write { db in
            try db.execute(
                sql: """
                    UPDATE room SET nick = ?, joined_nick = ?, updated_at = ?,
                        bookmark_sync = CASE WHEN bookmarked AND nick != ? THEN 'publish' ELSE bookmark_sync END
                    WHERE account_id = ? AND jid = ?
                    """,
                arguments: [nick, nick, Store.now, nick, accountID, jid])
        }
    }

    /// Messages held for a room we cannot join (refused, gone) fail with the reason, rather
    /// than wait forever. Returns their ids.
    @discardableResult
    public func failHeldRoomMessages(accountID: Int64, room: String, reason: String) throws -> [String] {
        try write { db in
            let ids = try String.fetchAll(
                db,
                sql: "SELECT id FROM outbox WHERE account_id = ? AND recipient = ? AND type = 'groupchat' AND state = 'queued'",
                arguments: [accountID, room])
            guard !ids.isEmpty else { return [] }
            try db.execute(
                sql: "UPDATE outbox SET state = 'failed', error = ? WHERE id IN (\(databaseQuestionMarks(count: ids.count)))",
                arguments: [reason] + StatementArguments(ids))
            return ids
        }
    }

    /// XEP-0045 §8.1: the subject and who set it; nil or empty clears it.
    public func setRoomSubject(accountID: Int64, jid: String, subject: String?, by: String?) throws {
        let text = subject.flatMap { $0.isEmpty ? nil : $0 }
        try updateRoom(accountID: accountID, jid: jid, set: "subject = ?, subject_by = ?", [text, by])
    }

    /// Whether the room advertises MAM (XEP-0313 §6.1 via disco#info); nil: unknown.
    public func setRoomArchived(accountID: Int64, jid: String, archived: Bool?) throws {
        try updateRoom(accountID: accountID, jid: jid, set: "archived = ?", [archived])
    }

    /// Whether the room advertises XEP-0421 occupant-ids (§2, via disco#info); nil: unknown.
    public func setRoomOccupantIDs(accountID: Int64, jid: String, advertised: Bool?) throws {
        try updateRoom(accountID: accountID, jid: jid, set: "occupant_ids = ?", [advertised])
    }

    /// Where the room's archive catch-up resumes; nil forgets it.
    public func setRoomArchiveCursor(accountID: Int64, jid: String, lastID: String?) throws {
        try updateRoom(accountID: accountID, jid: jid, set: "mam_last_id = ?", [lastID])
    }

    private func updateRoom(accountID: Int64, jid: String, set assignments: String, _ values: StatementArguments) throws {
        let arguments = values + [Store.now, accountID, jid]
        try write { db in
            try db.execute(
                sql: "UPDATE room SET \(assignments), updated_at = ? WHERE account_id = ? AND jid = ?", arguments: arguments)
        }
    }

    static func room(_ db: Database, _ accountID: Int64, _ jid: String) throws -> Room? {
        try Room.fetchOne(db, key: ["account_id": accountID, "jid": jid])
    }

    static func rooms(_ db: Database, _ accountID: Int64) throws -> [Room] {
        try Room.filter(Column("account_id") == accountID).order(Column("jid")).fetchAll(db)
    }

    // MARK: - Occupants

    /// One burst of occupant presence (XEP-0045 §7.2): removals first, then upserts, so a nick
    /// change (old nick removed, new one upserted) lands whole. Upserts for a room we do not
    /// have are dropped: the room was forgotten while its presence was in flight.
    public func applyOccupants(accountID: Int64, room: String, upserts: [Occupant], removals: [String]) throws {
        guard !upserts.isEmpty || !removals.isEmpty else { return }
        try write { db in
            if !removals.isEmpty {
                try db.execute(
                    sql: """
                        DELETE FROM occupant
                        WHERE account_id = ? AND room = ? AND nick IN (\(databaseQuestionMarks(count: removals.count)))
                        """,
                    arguments: [accountID, room] + StatementArguments(removals))
            }
            guard !upserts.isEmpty, try Self.room(db, accountID, room) != nil else { return }
            for var occupant in upserts {
                occupant.accountID = accountID
                occupant.room = room
                try occupant.save(db)
            }
        }
    }

    /// Moderators, then participants, then visitors, then the rest; by nick within each.
    public func occupants(accountID: Int64, room: String) throws -> [Occupant] {
        try read { db in
            try Occupant.fetchAll(
                db,
                sql: """
                    SELECT * FROM occupant WHERE account_id = ? AND room = ?
                    ORDER BY CASE role WHEN 'moderator' THEN 0 WHEN 'participant' THEN 1 WHEN 'visitor' THEN 2 ELSE 3 END,
                             nick COLLATE NOCASE, nick
                    """,
                arguments: [accountID, room])
        }
    }

    private static func deleteOccupants(_ db: Database, accountID: Int64, room: String) throws {
        try db.execute(sql: "DELETE FROM occupant WHERE account_id = ? AND room = ?", arguments: [accountID, room])
    }

    // MARK: - Bookmarks (XEP-0402)

    /// The server's whole bookmark list after a fetch. A row with a local change not yet pushed
    /// keeps its values; bookmarks the server no longer lists stop being bookmarks (and
    /// autojoin) unless a local change is pending. Returns every room of the account after it.
    @discardableResult
    public func mergeBookmarks(accountID: Int64, _ marks: [RoomBookmark]) throws -> [Room] {
        let now = Store.now
        return try write { db in
            for mark in marks { try Self.applyServerBookmark(mark, accountID: accountID, now: now, db) }
            let listed = Set(marks.map(\.jid))
            let bookmarked = try Room
                .filter(Column("account_id") == accountID && Column("bookmarked") == true && Column("bookmark_sync") == nil)
                .fetchAll(db)
            for var room in bookmarked where !listed.contains(room.jid) {
                room.bookmarked = false
                room.autojoin = false
                room.updatedAt = now
                try room.update(db)
            }
            return try Self.rooms(db, accountID)
        }
    }

    /// One bookmark published (a PEP notification); ignored while a local change is pending.
    public func applyBookmark(accountID: Int64, _ mark: RoomBookmark) throws {
        let now = Store.now
        try write { db in try Self.applyServerBookmark(mark, accountID: accountID, now: now, db) }
    }

    /// One bookmark retracted on the server; ignored while a local change is pending.
    public func applyBookmarkRetraction(accountID: Int64, jid: String) throws {
        let now = Store.now
        try write { db in
            try db.execute(
                sql: """
                    UPDATE room SET bookmarked = 0, autojoin = 0, updated_at = ?
                    WHERE account_id = ? AND jid = ? AND bookmark_sync IS NULL
                    """,
                arguments: [now, accountID, jid])
        }
    }

    /// Rooms whose bookmark change the server has not been told about, by JID.
    public func pendingBookmarkSyncs(accountID: Int64) throws -> [Room] {
        try read { db in
            try Room.filter(Column("account_id") == accountID && Column("bookmark_sync") != nil)
                .order(Column("jid")).fetchAll(db)
        }
    }

    /// The server took a push: clears the pending change only if it is still `sync`, and,
    /// when `pushed` is given, only if the row still holds the bookmark that was pushed (a
    /// publish made after the push was read must go out too).
    public func markBookmarkSynced(
        accountID: Int64, jid: String, sync: Room.BookmarkSync, pushed: RoomBookmark? = nil
    ) throws {
        try write { db in
            guard let room = try Self.room(db, accountID, jid), room.bookmarkSync == sync else { return }
            if let pushed, sync == .publish, room.bookmark != pushed { return }
            try db.execute(
                sql: "UPDATE room SET bookmark_sync = NULL WHERE account_id = ? AND jid = ? AND bookmark_sync = ?",
                arguments: [accountID, jid, sync.rawValue])
        }
    }

    private static func applyServerBookmark(_ mark: RoomBookmark, accountID: Int64, now: Double, _ db: Database) throws {
        if var room = try Self.room(db, accountID, mark.jid) {
            guard room.bookmarkSync == nil else { return }  // the local change wins until pushed
            room.name = mark.name
            room.autojoin = mark.autojoin
            if let nick = mark.nick { room.nick = nick }
            if let password = mark.password { room.password = password }
            room.bookmarked = true
            room.bookmarkExtensions = mark.extensions
            // autojoin off only stops future joins: the user may be in the room right now.
            if mark.autojoin { room.wanted = true }
            room.updatedAt = now
            try room.update(db)
        } else {
            let nick = try mark.nick ?? defaultNick(db, accountID: accountID)
            try Room(
                accountID: accountID, jid: mark.jid, nick: nick, password: mark.password, name: mark.name,
                autojoin: mark.autojoin, bookmarked: true, wanted: mark.autojoin, updatedAt: now,
                bookmarkExtensions: mark.extensions
            ).insert(db)
        }
    }

    /// The account JID's localpart: the nick for a bookmark that names none.
    private static func defaultNick(_ db: Database, accountID: Int64) throws -> String {
        guard let jid = try String.fetchOne(db, sql: "SELECT jid FROM account WHERE id = ?", arguments: [accountID]) else {
            throw RoomStoreError.noSuchAccount(accountID)
        }
        guard let at = jid.firstIndex(of: "@"), at != jid.startIndex else { return jid }
        return String(jid[..<at])
    }

    // MARK: - Invitations

    /// Records an invitation; nil (nothing stored) when the same inviter's invitation to the
    /// room is already pending.
    @discardableResult
    public func addInvite(_ invite: RoomInvite) throws -> RoomInvite? {
        try write { db in
            // Anyone may invite us: a flood stops at this many waiting, rather than filling the disk.
            let pending = try Int.fetchOne(
                db, sql: "SELECT count(*) FROM room_invite WHERE account_id = ? AND state = 'pending'",
                arguments: [invite.accountID]) ?? 0
            guard pending < Self.maxPendingInvites else { return nil }
            let duplicate = try Bool.fetchOne(
                db,
                sql: """
                    SELECT EXISTS (SELECT 1 FROM room_invite
                                   WHERE account_id = ? AND room = ? AND inviter IS ? AND state = 'pending')
                    """,
                arguments: [invite.accountID, invite.room, invite.inviter]) ?? false
            guard !duplicate else { return nil }
            var row = invite
            try row.insert(db)
            return row
        }
    }

    public static let maxPendingInvites = 50

    /// Invitations, newest first.
    public func invites(accountID: Int64, pendingOnly: Bool = true) throws -> [RoomInvite] {
        try read { db in
            var request = RoomInvite.filter(Column("account_id") == accountID)
            if pendingOnly { request = request.filter(Column("state") == RoomInvite.State.pending.rawValue) }
            return try request.order(Column("received_at").desc, Column("id").desc).fetchAll(db)
        }
    }

    /// Declines a pending invitation; an answered or unknown one is left as it is.
    public func declineInvite(accountID: Int64, id: Int64) throws {
        try write { db in
            try db.execute(
                sql: "UPDATE room_invite SET state = 'declined' WHERE account_id = ? AND id = ? AND state = 'pending'",
                arguments: [accountID, id])
        }
    }

    // MARK: - Reflection

    /// A room echoes our own message back (XEP-0045 §7.4) with the archive's stanza-id
    /// (XEP-0359): finds our outgoing message by origin-id, gives it the stanza-id if it has
    /// none, and returns its outbox id (nil when no such message).
    @discardableResult
    public func attachStanzaID(accountID: Int64, conversation: String, originID: String, stanzaID: String) throws -> String? {
        try write { db in
            guard let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT id, outbox_id FROM message
                    WHERE account_id = ? AND conversation = ? AND direction = 'out' AND origin_id = ?
                    ORDER BY id DESC LIMIT 1
                    """,
                arguments: [accountID, conversation, originID])
            else { return nil }
            let id: Int64 = row["id"]
            try db.execute(sql: "UPDATE message SET stanza_id = ? WHERE id = ? AND stanza_id IS NULL", arguments: [stanzaID, id])
            return row["outbox_id"]
        }
    }
}

/// A room query that could not be done.
public enum RoomStoreError: Error, CustomStringConvertible, Equatable {
    case noSuchAccount(Int64)

    public var description: String {
        switch self {
        case .noSuchAccount(let id): "no account with id \(id)"
        }
    }
}
