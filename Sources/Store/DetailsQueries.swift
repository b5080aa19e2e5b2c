import Foundation
import GRDB

/// Contact details cache (vCard, client software, last activity), the XEP-0115 caps cache,
/// the XEP-0191 blocklist and the intents that change it: migration 0003.
extension Store {
    /// What `tern info` shows about one contact, all from the Store.
    public struct ContactDetails: Sendable {
        public struct Resource: Sendable {
            public var resource: String
            public var available: Bool?
            public var show: String?
            public var status: String?
            public var priority: Int?
            public var presenceUpdatedAt: Double?
            public var clientName: String?
            public var clientVersion: String?
            public var clientOS: String?
            public var idleSeconds: Int?
            public var capsVer: String?
            public var features: [String]?
            public var error: String?
            public var fetchedAt: Double?
        }

        public var jid: String
        /// vCard fields by `VCard.Field` raw value; nil when never fetched.
        public var vcard: [String: String]?
        public var vcardSource: String?
        public var vcardFetchedAt: Double?
        public var resources: [Resource] = []
        public var lastActivitySeconds: Int?
        public var lastActivityStatus: String?
        public var lastActivityFetchedAt: Double?
        // Roster facts (migration 0002).
        public var inRoster = false
        public var name: String?
        public var subscription: String?
        public var ask = false
        public var groups: [String] = []
        public var pendingIntents: [String] = []
        public var blocked = false

        /// The oldest fetch among what was fetched; nil when nothing was.
        public var fetchedAt: Double? {
            ([vcardFetchedAt, lastActivityFetchedAt] + resources.map(\.fetchedAt)).compactMap { $0 }.min()
        }
    }

    public func contactDetails(accountID: Int64, jid: String) throws -> ContactDetails {
        try read { db in
            var details = ContactDetails(jid: jid)
            if let row = try Row.fetchOne(
                db, sql: "SELECT fields, source, fetched_at FROM contact_vcard WHERE account_id = ? AND jid = ?",
                arguments: [accountID, jid])
            {
                let text: String = row["fields"]
                details.vcard = (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
                details.vcardSource = row["source"]
                details.vcardFetchedAt = row["fetched_at"]
            }
            if let row = try Row.fetchOne(
                db, sql: "SELECT seconds, status, fetched_at FROM contact_last_activity WHERE account_id = ? AND jid = ?",
                arguments: [accountID, jid])
            {
                details.lastActivitySeconds = row["seconds"]
                details.lastActivityStatus = row["status"]
                details.lastActivityFetchedAt = row["fetched_at"]
            }
            var byResource: [String: ContactDetails.Resource] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT resource, available, show, status, priority, updated_at FROM presence WHERE account_id = ? AND jid = ?",
                arguments: [accountID, jid])
            {
                let resource: String = row["resource"]
                byResource[resource] = ContactDetails.Resource(
                    resource: resource, available: row["available"], show: row["show"], status: row["status"],
                    priority: row["priority"], presenceUpdatedAt: row["updated_at"])
            }
            for row in try Row.fetchAll(
                db, sql: """
                    SELECT d.resource, d.client_name, d.client_version, d.client_os, d.idle_seconds, d.caps_ver, d.error,
                           d.fetched_at, coalesce(d.features, c.features) AS features
                    FROM contact_resource_details d LEFT JOIN caps_cache c ON c.ver = d.caps_ver
                    WHERE d.account_id = ? AND d.jid = ?
                    """,
                arguments: [accountID, jid])
            {
                let resource: String = row["resource"]
                var entry = byResource[resource] ?? ContactDetails.Resource(resource: resource)
                entry.clientName = row["client_name"]
                entry.clientVersion = row["client_version"]
                entry.clientOS = row["client_os"]
                entry.idleSeconds = row["idle_seconds"]
                entry.capsVer = row["caps_ver"]
                entry.error = row["error"]
                entry.fetchedAt = row["fetched_at"]
                if let features: String = row["features"] {
                    entry.features = try? JSONDecoder().decode([String].self, from: Data(features.utf8))
                }
                byResource[resource] = entry
            }
            details.resources = byResource.values.sorted { ($0.available == true ? 0 : 1, $0.resource) < ($1.available == true ? 0 : 1, $1.resource) }
            if let row = try Row.fetchOne(
                db, sql: "SELECT name, subscription, ask FROM contact WHERE account_id = ? AND jid = ?", arguments: [accountID, jid])
            {
                details.inRoster = true
                details.name = row["name"]
                details.subscription = row["subscription"]
                details.ask = row["ask"] ?? false
                details.groups = try String.fetchAll(
                    db, sql: "SELECT name FROM contact_group WHERE account_id = ? AND jid = ? ORDER BY name", arguments: [accountID, jid])
            }
            // Roster edits by their roster word (add, update, …), then block and unblock.
            let pending = try Intent
                .filter(Column("account_id") == accountID && Column("target") == jid && ["queued", "sent"].contains(Column("state")))
                .order(Column("id")).fetchAll(db)
            details.pendingIntents = pending.compactMap { $0.rosterAction?.rawValue }
                + pending.filter { $0.kind == .block || $0.kind == .unblock }.map(\.kind.rawValue)
            details.blocked = try Bool.fetchOne(
                db, sql: "SELECT 1 FROM blocklist WHERE account_id = ? AND jid = ?", arguments: [accountID, jid]) ?? false
            return details
        }
    }

    /// Resources to ask about: those with presence now, else the full JIDs the contact last wrote from.
    public func knownResources(accountID: Int64, jid: String) throws -> [String] {
        try read { db in
            let online = try String.fetchAll(
                db, sql: "SELECT resource FROM presence WHERE account_id = ? AND jid = ? AND available = 1 AND resource != ''",
                arguments: [accountID, jid])
            if !online.isEmpty { return online }
            let prefix = jid + "/"
            let senders = try String.fetchAll(
                db, sql: """
                    SELECT sender FROM message WHERE account_id = ? AND conversation = ? AND direction = 'in'
                    ORDER BY timestamp DESC LIMIT 20
                    """,
                arguments: [accountID, jid])
            var seen: [String] = []
            for sender in senders where sender.hasPrefix(prefix) {
                let resource = String(sender.dropFirst(prefix.count))
                if !resource.isEmpty, !seen.contains(resource) { seen.append(resource) }
            }
            return Array(seen.prefix(3))
        }
    }

    public func saveVCard(accountID: Int64, jid: String, fields: [String: String], source: String, at time: Double = Store.now) throws {
        let json = String(decoding: (try? JSONEncoder().encode(fields)) ?? Data("{}".utf8), as: UTF8.self)
        try write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO contact_vcard (account_id, jid, fields, source, fetched_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [accountID, jid, json, source, time])
        }
    }

    public struct ResourceDetails: Sendable {
        public var resource: String
        public var clientName: String?
        public var clientVersion: String?
        public var clientOS: String?
        public var idleSeconds: Int?
        public var capsVer: String?
        /// The resource's own disco#info features, when its answer may not go in the shared
        /// caps cache (migration 0009); nil: the cache has them under `capsVer`.
        public var features: [String]?
        public var error: String?

        public init(resource: String) { self.resource = resource }
    }

    /// Replaces what we know of the contact's resources with one fetch's results.
    public func saveResourceDetails(accountID: Int64, jid: String, _ resources: [ResourceDetails], at time: Double = Store.now) throws {
        try write { db in
            try db.execute(sql: "DELETE FROM contact_resource_details WHERE account_id = ? AND jid = ?", arguments: [accountID, jid])
            for r in resources {
                try db.execute(
                    sql: """
                        INSERT INTO contact_resource_details
                            (account_id, jid, resource, client_name, client_version, client_os, idle_seconds, caps_ver, features,
                             error, fetched_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        accountID, jid, r.resource, r.clientName, r.clientVersion, r.clientOS, r.idleSeconds, r.capsVer,
                        r.features.map(Self.jsonArray), r.error, time,
                    ])
            }
        }
    }

    public func saveLastActivity(accountID: Int64, jid: String, seconds: Int?, status: String?, at time: Double = Store.now) throws {
        try write { db in
            if let seconds {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO contact_last_activity (account_id, jid, seconds, status, fetched_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [accountID, jid, seconds, status, time])
            } else {
                try db.execute(sql: "DELETE FROM contact_last_activity WHERE account_id = ? AND jid = ?", arguments: [accountID, jid])
            }
        }
    }

    // MARK: - Caps cache (XEP-0115)

    /// The features behind a validated verification string, or nil when not cached.
    public func cachedCaps(ver: String) throws -> [String]? {
        try read { db in
            try String.fetchOne(db, sql: "SELECT features FROM caps_cache WHERE ver = ?", arguments: [ver])
                .flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) }
        }
    }

    /// Stores what a verification string means, for everyone who advertises it: call only
    /// after recomputing the hash, with an answer that no other answer could hash like.
    public func cacheCaps(ver: String, identitiesJSON: String, features: [String]) throws {
        let json = Self.jsonArray(features)
        try write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO caps_cache (ver, identities, features, fetched_at) VALUES (?, ?, ?, ?)",
                arguments: [ver, identitiesJSON, json, Store.now])
        }
    }

    static func jsonArray(_ values: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(values)) ?? Data("[]".utf8), as: UTF8.self)
    }

    // MARK: - Blocklist (XEP-0191)

    public func blocklist(accountID: Int64) throws -> (jids: [String], fetchedAt: Double?) {
        try read { db in
            let jids = try String.fetchAll(db, sql: "SELECT jid FROM blocklist WHERE account_id = ? ORDER BY jid", arguments: [accountID])
            let at = try Double.fetchOne(db, sql: "SELECT blocklist_fetched_at FROM details_state WHERE account_id = ?", arguments: [accountID])
            return (jids, at)
        }
    }

    /// The server's whole blocklist, as fetched at session start.
    public func replaceBlocklist(accountID: Int64, jids: [String]) throws {
        try write { db in
            try db.execute(sql: "DELETE FROM blocklist WHERE account_id = ?", arguments: [accountID])
            for jid in Set(jids) {
                try db.execute(sql: "INSERT INTO blocklist (account_id, jid) VALUES (?, ?)", arguments: [accountID, jid])
            }
            try Self.touchDetailsState(db, accountID)
            try db.execute(sql: "UPDATE details_state SET blocklist_fetched_at = ? WHERE account_id = ?", arguments: [Store.now, accountID])
        }
    }

    /// A block or unblock push (or our own confirmed request); an empty unblock means everyone.
    public func applyBlocklistChange(accountID: Int64, block: Bool, jids: [String]) throws {
        try write { db in
            if block {
                for jid in jids {
                    try db.execute(sql: "INSERT OR IGNORE INTO blocklist (account_id, jid) VALUES (?, ?)", arguments: [accountID, jid])
                }
            } else if jids.isEmpty {
                try db.execute(sql: "DELETE FROM blocklist WHERE account_id = ?", arguments: [accountID])
            } else {
                for jid in jids {
                    try db.execute(sql: "DELETE FROM blocklist WHERE account_id = ? AND jid = ?", arguments: [accountID, jid])
                }
            }
        }
    }

    // MARK: - Intents

    /// Block, unblock, or refresh a contact's details: an `Intent` the owner carries out.
    @discardableResult
    public func addDetailsIntent(accountID: Int64, _ kind: Intent.Kind, jid: String) throws -> Intent {
        precondition([.block, .unblock, .detailsRefresh].contains(kind), "not a details intent: \(kind)")
        return try enqueueIntent(Intent(accountID: accountID, kind: kind, target: jid, createdAt: Store.now))
    }

    /// Block and unblock intents not yet carried out, oldest first (`tern blocked` shows them).
    public func pendingBlockIntents(accountID: Int64) throws -> [Intent] {
        try read { db in
            try Intent
                .filter(Column("account_id") == accountID && ["queued", "sent"].contains(Column("state")))
                .filter([Intent.Kind.block, .unblock].map(\.rawValue).contains(Column("kind")))
                .order(Column("id")).fetchAll(db)
        }
    }

    // MARK: - What we share (XEP-0092, XEP-0012)

    public struct Sharing: Sendable, Equatable {
        public var version: Bool
        public var idle: Bool

        public init(version: Bool = true, idle: Bool = true) {
            self.version = version
            self.idle = idle
        }
    }

    public func sharing(accountID: Int64) throws -> Sharing {
        try read { db in
            let row = try Row.fetchOne(db, sql: "SELECT share_version, share_idle FROM details_state WHERE account_id = ?", arguments: [accountID])
            return Sharing(version: row?["share_version"] ?? true, idle: row?["share_idle"] ?? true)
        }
    }

    public func setSharing(accountID: Int64, _ sharing: Sharing) throws {
        try write { db in
            try Self.touchDetailsState(db, accountID)
            try db.execute(
                sql: "UPDATE details_state SET share_version = ?, share_idle = ? WHERE account_id = ?",
                arguments: [sharing.version, sharing.idle, accountID])
        }
    }

    /// When the user last did something we can see: their latest outgoing message.
    public func lastOutgoingTimestamp(accountID: Int64) throws -> Double? {
        try read { db in
            try Double.fetchOne(db, sql: "SELECT max(timestamp) FROM message WHERE account_id = ? AND direction = 'out'", arguments: [accountID])
        }
    }

    private static func touchDetailsState(_ db: Database, _ accountID: Int64) throws {
        try db.execute(sql: "INSERT OR IGNORE INTO details_state (account_id) VALUES (?)", arguments: [accountID])
    }
}
