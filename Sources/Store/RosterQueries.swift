import Foundation
import GRDB

/// The roster, presence, subscription requests and roster intents (RFC 6121 §2–4).
///
/// Every change the server tells us about lands in one transaction per fetch or burst, so a
/// reader never sees half a roster.
extension Store {
    /// A roster item as the server sent it; `subscription == nil` means "remove".
    public struct ServerRosterItem: Sendable, Equatable {
        public var jid: String
        public var name: String?
        public var subscription: Contact.Subscription?
        public var ask: Bool
        public var approved: Bool
        public var groups: [String]

        public init(
            jid: String, name: String? = nil, subscription: Contact.Subscription?, ask: Bool = false,
            approved: Bool = false, groups: [String] = []
        ) {
            self.jid = jid
            self.name = name
            self.subscription = subscription
            self.ask = ask
            self.approved = approved
            self.groups = groups
        }
    }

    // MARK: - Roster sync

    public func rosterVersion(accountID: Int64) throws -> String? {
        try read { db in
            try String.fetchOne(db, sql: "SELECT roster_ver FROM sync_state WHERE account_id = ?", arguments: [accountID])
        }
    }

    /// The whole roster replaces what we had, with its version, in one transaction.
    public func replaceRoster(accountID: Int64, items: [ServerRosterItem], version: String?) throws {
        let now = Store.now
        try write { db in
            try db.execute(sql: "DELETE FROM contact WHERE account_id = ?", arguments: [accountID])
            for item in items { try Self.apply(item, accountID: accountID, now: now, db) }
            try Self.setRosterVersion(version, accountID: accountID, db)
            try RosterFetch(accountID: accountID, full: true, items: items.count, fetchedAt: now).save(db)
        }
    }

    /// The server said the roster is unchanged since our version.
    public func noteRosterUnchanged(accountID: Int64) throws {
        try write { db in try RosterFetch(accountID: accountID, full: false, items: 0, fetchedAt: Store.now).save(db) }
    }

    /// Roster pushes of one burst, in order, in one transaction; the last version given wins.
    public func applyRosterPushes(accountID: Int64, _ items: [ServerRosterItem], version: String?) throws {
        guard !items.isEmpty else { return }
        let now = Store.now
        try write { db in
            for item in items { try Self.apply(item, accountID: accountID, now: now, db) }
            if let version { try Self.setRosterVersion(version, accountID: accountID, db) }
        }
    }

    public func lastRosterFetch(accountID: Int64) throws -> RosterFetch? {
        try read { db in try RosterFetch.fetchOne(db, key: accountID) }
    }

    private static func apply(_ item: ServerRosterItem, accountID: Int64, now: Double, _ db: Database) throws {
        guard let subscription = item.subscription else {
            try db.execute(sql: "DELETE FROM contact WHERE account_id = ? AND jid = ?", arguments: [accountID, item.jid])
            return
        }
        try Contact(
            accountID: accountID, jid: item.jid, name: item.name, subscription: subscription, ask: item.ask,
            approved: item.approved, updatedAt: now
        ).save(db)
        try db.execute(sql: "DELETE FROM contact_group WHERE account_id = ? AND jid = ?", arguments: [accountID, item.jid])
        for group in Set(item.groups) {
            try db.execute(
                sql: "INSERT INTO contact_group (account_id, jid, name) VALUES (?, ?, ?)", arguments: [accountID, item.jid, group])
        }
    }

    private static func setRosterVersion(_ version: String?, accountID: Int64, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO sync_state (account_id, roster_ver) VALUES (?, ?)
                ON CONFLICT(account_id) DO UPDATE SET roster_ver = excluded.roster_ver
                """,
            arguments: [accountID, version])
    }

    public func contact(accountID: Int64, jid: String) throws -> Contact? {
        try read { db in try Contact.fetchOne(db, key: ["account_id": accountID, "jid": jid]) }
    }

    public func contactGroups(accountID: Int64, jid: String) throws -> [String] {
        try read { db in
            try String.fetchAll(
                db, sql: "SELECT name FROM contact_group WHERE account_id = ? AND jid = ? ORDER BY name",
                arguments: [accountID, jid])
        }
    }

    /// Bare JIDs of the contacts in a group.
    public func contacts(accountID: Int64, inGroup group: String) throws -> [String] {
        try read { db in
            try String.fetchAll(
                db, sql: "SELECT jid FROM contact_group WHERE account_id = ? AND name = ? ORDER BY jid",
                arguments: [accountID, group])
        }
    }

    // MARK: - Display

    /// Every contact with groups, available resources (best first) and pending edits, plus
    /// pending adds the server has not seen yet. Five queries, whatever the roster size.
    public func rosterEntries(accountID: Int64) throws -> [RosterEntry] {
        try read { db in
            let contacts = try Contact.filter(Column("account_id") == accountID).order(Column("jid")).fetchAll(db)
            var groups: [String: [String]] = [:]
            let groupRows = try Row.fetchCursor(
                db, sql: "SELECT jid, name FROM contact_group WHERE account_id = ? ORDER BY name", arguments: [accountID])
            while let row = try groupRows.next() { groups[row[0], default: []].append(row[1]) }
            var presence: [String: [ResourcePresence]] = [:]
            var lastSeen: [String: Double] = [:]
            for row in try ResourcePresence.filter(Column("account_id") == accountID).fetchAll(db) {
                if row.available {
                    presence[row.jid, default: []].append(row)
                } else {
                    lastSeen[row.jid] = max(lastSeen[row.jid] ?? 0, row.updatedAt)
                }
            }
            // XEP-0012 on the bare JID, as `tern info` cached it: logged out `seconds` before the fetch.
            let lastActivity = try Row.fetchCursor(
                db, sql: "SELECT jid, fetched_at - seconds FROM contact_last_activity WHERE account_id = ?", arguments: [accountID])
            while let row = try lastActivity.next() {
                let jid: String = row[0]
                let seen: Double = row[1]
                lastSeen[jid] = max(lastSeen[jid] ?? seen, seen)
            }
            // Per JID: the latest action, and name and groups as the pending edits leave them.
            var pending: [String: (action: RosterAction, name: String?, groups: [String]?)] = [:]
            var order: [String] = []
            for intent in try Self.pendingRosterIntents(accountID: accountID, db) {
                guard let action = intent.rosterAction else { continue }
                let args = intent.arguments
                guard var merged = pending[intent.target] else {
                    pending[intent.target] = (action, args.name, args.groups)
                    order.append(intent.target)
                    continue
                }
                merged.action = merged.action == .add && action == .update ? .add : action
                merged.name = args.name ?? merged.name
                merged.groups = args.groups ?? merged.groups
                pending[intent.target] = merged
            }

            var entries = contacts.map { contact in
                let intent = pending[contact.jid]
                return RosterEntry(
                    jid: contact.jid, name: intent?.name ?? contact.name, subscription: contact.subscription, ask: contact.ask,
                    groups: intent?.groups ?? groups[contact.jid] ?? [],
                    presence: Self.bestFirst(presence[contact.jid] ?? []),
                    lastSeen: lastSeen[contact.jid], pending: intent?.action, onServer: true)
            }
            let known = Set(contacts.map(\.jid))
            for jid in order where !known.contains(jid) {
                guard let intent = pending[jid], intent.action == .add else { continue }
                entries.append(RosterEntry(
                    jid: jid, name: intent.name, subscription: .none, ask: false, groups: intent.groups ?? [],
                    presence: [], lastSeen: nil, pending: .add, onServer: false))
            }
            return entries
        }
    }

    /// Highest priority first, then the more available show, then the most recent.
    static func bestFirst(_ resources: [ResourcePresence]) -> [ResourcePresence] {
        resources.sorted {
            if $0.priority != $1.priority { return $0.priority > $1.priority }
            if $0.showRank != $1.showRank { return $0.showRank > $1.showRank }
            return $0.updatedAt > $1.updatedAt
        }
    }

    // MARK: - Presence

    /// Resources kept per bare JID of someone not in the roster: a person has a few devices.
    public static let maxStrangerResources = 5
    /// Presence rows of people not in the roster, all together.
    public static let maxStrangerPresence = 50
    /// A stranger's row older than this is pruned when a session starts: presence that old
    /// is history, and a stranger's history is worth little.
    public static let strangerPresenceMaxAge: Double = 24 * 3600

    /// One burst of presence as stored.
    public struct PresenceChanges: Sendable, Equatable {
        /// Rows of contacts, and of our own other resources, that really changed.
        public var contacts: [ResourcePresence] = []
        /// Rows of people not in the roster that really changed (one gone offline is deleted).
        public var strangers: [ResourcePresence] = []
        /// Strangers' new resources not stored: a cap was full of live presence.
        public var refused = 0

        public init(contacts: [ResourcePresence] = [], strangers: [ResourcePresence] = [], refused: Int = 0) {
            self.contacts = contacts
            self.strangers = strangers
            self.refused = refused
        }
    }

    /// Stores one burst of presence in one transaction; says which rows really changed (for events).
    ///
    /// Anyone may send us presence, so what people outside the roster can make us store is
    /// capped (DESIGN §6, Floods): `maxStrangerResources` per bare JID and `maxStrangerPresence`
    /// in all. A full cap takes a newcomer only in place of a stranger's offline row; live
    /// presence is never pushed out by a flood. A stranger's resource that goes offline is
    /// deleted rather than remembered, so unavailable presence from strangers stores nothing.
    @discardableResult
    public func storePresence(_ updates: [ResourcePresence]) throws -> PresenceChanges {
        guard !updates.isEmpty else { return PresenceChanges() }
        return try write { db in
            var changes = PresenceChanges()
            var strangers: [String: Bool] = [:]
            var quotas: [Int64: StrangerQuota] = [:]
            for update in updates {
                let key: [String: any DatabaseValueConvertible] = [
                    "account_id": update.accountID, "jid": update.jid, "resource": update.resource,
                ]
                let old = try ResourcePresence.fetchOne(db, key: key)
                let cacheKey = "\(update.accountID) \(update.jid)"
                let isStranger = try strangers[cacheKey] ?? Self.isStranger(update.jid, accountID: update.accountID, db)
                strangers[cacheKey] = isStranger
                guard isStranger else {
                    if let change = try Self.apply(update, over: old, db) { changes.contacts.append(change) }
                    continue
                }
                var quota = try quotas[update.accountID] ?? StrangerQuota(accountID: update.accountID, db)
                defer { quotas[update.accountID] = quota }
                if !update.available {
                    guard let old else { continue }
                    try old.delete(db)
                    quota.total -= 1
                    if old.available { changes.strangers.append(update) }
                    continue
                }
                if old == nil {
                    guard try quota.makeRoom(for: update.jid, db) else {
                        changes.refused += 1
                        continue
                    }
                    quota.total += 1
                }
                if let change = try Self.apply(update, over: old, db) { changes.strangers.append(change) }
            }
            return changes
        }
    }

    /// Writes `update` over `old`; returns it when it is a change to announce.
    private static func apply(_ update: ResourcePresence, over old: ResourcePresence?, _ db: Database) throws -> ResourcePresence? {
        if let old, old.available == update.available, old.show == update.show, old.status == update.status,
            old.priority == update.priority
        {
            // New caps alone are stored but are no presence change to announce.
            if old.capsNode != update.capsNode || old.capsVer != update.capsVer { try update.save(db) }
            return nil
        }
        try update.save(db)
        // Unavailable from a resource we never saw online: remember when, nothing more.
        return !update.available && old?.available != true ? nil : update
    }

    /// Neither in the roster nor our own account (whose other resources we always want to see).
    private static func isStranger(_ jid: String, accountID: Int64, _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: """
                SELECT NOT EXISTS (SELECT 1 FROM contact WHERE account_id = ?1 AND jid = ?2)
                       AND ?2 != (SELECT jid FROM account WHERE id = ?1)
                """,
            arguments: [accountID, jid]) ?? true
    }

    /// SQL true for a `presence` row of someone neither in the roster nor our own account.
    private static let strangerRow = """
        presence.jid != (SELECT jid FROM account WHERE id = presence.account_id)
        AND NOT EXISTS (SELECT 1 FROM contact c WHERE c.account_id = presence.account_id AND c.jid = presence.jid)
        """

    /// Strangers' rows of one account during one burst: counted once, then kept up to date,
    /// so a flood costs one count rather than one per stanza.
    private struct StrangerQuota {
        let accountID: Int64
        var total: Int
        /// Set once a search found no offline stranger row to replace: none appears in a burst.
        var noneOffline = false

        init(accountID: Int64, _ db: Database) throws {
            self.accountID = accountID
            total = try Int.fetchOne(
                db, sql: "SELECT count(*) FROM presence WHERE account_id = ? AND \(Store.strangerRow)", arguments: [accountID]) ?? 0
        }

        /// Whether a new resource of `jid` fits, deleting a stranger's offline row to make room.
        mutating func makeRoom(for jid: String, _ db: Database) throws -> Bool {
            let own = try Int.fetchOne(
                db, sql: "SELECT count(*) FROM presence WHERE account_id = ? AND jid = ?", arguments: [accountID, jid]) ?? 0
            if own >= Store.maxStrangerResources { return try replaceOffline(of: jid, db) }
            if total >= Store.maxStrangerPresence { return try replaceOffline(of: nil, db) }
            return true
        }

        private mutating func replaceOffline(of jid: String?, _ db: Database) throws -> Bool {
            if jid == nil, noneOffline { return false }
            let deleted = try Bool.fetchOne(
                db,
                sql: """
                    DELETE FROM presence WHERE (account_id, jid, resource) IN (
                        SELECT account_id, jid, resource FROM presence
                        WHERE account_id = ?1 AND available = 0 AND (?2 IS NULL OR jid = ?2) AND \(Store.strangerRow)
                        ORDER BY updated_at LIMIT 1)
                    RETURNING 1
                    """,
                arguments: [accountID, jid]) ?? false
            if deleted { total -= 1 } else if jid == nil { noneOffline = true }
            return deleted
        }
    }

    /// Every resource of every contact to unavailable: the session that told us is gone.
    public func clearPresence(accountID: Int64) throws {
        try write { db in
            try db.execute(sql: "UPDATE presence SET available = 0 WHERE account_id = ? AND available = 1", arguments: [accountID])
        }
    }

    /// Deletes strangers' rows last changed before `cutoff` (at session start); returns how many.
    @discardableResult
    public func pruneStrangerPresence(accountID: Int64, before cutoff: Double) throws -> Int {
        try write { db in
            try db.execute(
                sql: "DELETE FROM presence WHERE account_id = ? AND updated_at < ? AND \(Self.strangerRow)", arguments: [accountID, cutoff])
            return db.changesCount
        }
    }

    public func presence(accountID: Int64, jid: String) throws -> [ResourcePresence] {
        try read { db in
            Self.bestFirst(try ResourcePresence.filter(Column("account_id") == accountID && Column("jid") == jid).fetchAll(db))
        }
    }

    // MARK: - Subscription requests

    /// Requests waiting for an answer, as for room invitations.
    public static let maxPendingSubscriptionRequests = 50

    public enum RequestOutcome: Sendable, Equatable {
        /// A new request, now pending.
        case stored
        /// The sender's pending request, with the new message and time: one row per sender.
        case refreshed
        /// Not stored: `maxPendingSubscriptionRequests` are waiting.
        case refused
    }

    /// Records someone's request to see our presence (RFC 6121 §3.1.3).
    ///
    /// A full list refuses the newest rather than dropping the oldest: a flood must not push
    /// out the requests the user has not answered yet, and the server keeps a refused one and
    /// delivers it again at the next login (§3.1.3), so it is not lost.
    @discardableResult
    public func addSubscriptionRequest(accountID: Int64, jid: String, message: String?) throws -> RequestOutcome {
        try write { db in
            let request = SubscriptionRequest(accountID: accountID, jid: jid, message: message, receivedAt: Store.now)
            if try SubscriptionRequest.exists(db, key: ["account_id": accountID, "jid": jid]) {
                try request.update(db)
                return .refreshed
            }
            let pending = try SubscriptionRequest.filter(Column("account_id") == accountID).fetchCount(db)
            guard pending < Self.maxPendingSubscriptionRequests else { return .refused }
            try request.insert(db)
            return .stored
        }
    }

    public func subscriptionRequests(accountID: Int64) throws -> [SubscriptionRequest] {
        try read { db in
            try SubscriptionRequest.filter(Column("account_id") == accountID).order(Column("received_at"), Column("jid")).fetchAll(db)
        }
    }

    @discardableResult
    public func removeSubscriptionRequest(accountID: Int64, jid: String) throws -> Bool {
        try write { db in try SubscriptionRequest.deleteOne(db, key: ["account_id": accountID, "jid": jid]) }
    }

    // MARK: - Intents

    /// Queues a roster or subscription edit (an `Intent`). Answering a request removes it
    /// from the pending list at once, in the same transaction: the user has answered it.
    @discardableResult
    public func enqueueRosterIntent(
        accountID: Int64, jid: String, action: RosterAction, name: String? = nil, groups: [String]? = nil
    ) throws -> Intent {
        try write { db in
            var intent = Intent(
                accountID: accountID, kind: action.kind, target: jid, payload: Intent.Payload(name: name, groups: groups),
                createdAt: Store.now)
            try intent.insert(db)
            if action == .accept || action == .deny {
                _ = try SubscriptionRequest.deleteOne(db, key: ["account_id": accountID, "jid": jid])
            }
            return intent
        }
    }

    /// Roster and subscription intents not yet carried out (queued, or taken by the owner), oldest first.
    public func pendingRosterIntents(accountID: Int64) throws -> [Intent] {
        try read { db in try Self.pendingRosterIntents(accountID: accountID, db) }
    }

    private static func pendingRosterIntents(accountID: Int64, _ db: Database) throws -> [Intent] {
        try Intent
            .filter(Column("account_id") == accountID && ["queued", "sent"].contains(Column("state")))
            .filter(RosterAction.allCases.map(\.kind.rawValue).contains(Column("kind")))
            .order(Column("id"))
            .fetchAll(db)
    }

    // MARK: - Own presence

    public func ownPresence(accountID: Int64) throws -> OwnPresence {
        try read { db in try OwnPresence.fetchOne(db, key: accountID) } ?? OwnPresence(accountID: accountID)
    }

    /// Sets show (nil: online) and status; the owner sends it within a poll interval.
    @discardableResult
    public func setOwnPresence(accountID: Int64, show: String?, status: String?) throws -> OwnPresence {
        try write { db in
            var own = try OwnPresence.fetchOne(db, key: accountID) ?? OwnPresence(accountID: accountID)
            own.show = show
            own.status = status
            own.revision += 1
            own.updatedAt = Store.now
            try own.save(db)
            return own
        }
    }

    public func setAutoAway(accountID: Int64, minutes: Int) throws {
        try write { db in
            var own = try OwnPresence.fetchOne(db, key: accountID) ?? OwnPresence(accountID: accountID)
            own.autoAwayMinutes = max(0, minutes)
            try own.save(db)
        }
    }

    public func markOwnPresenceSent(accountID: Int64, revision: Int64) throws {
        try write { db in
            var own = try OwnPresence.fetchOne(db, key: accountID) ?? OwnPresence(accountID: accountID)
            own.sentRevision = max(own.sentRevision, revision)
            try own.save(db)
        }
    }
}
