import Foundation
import GRDB

/// A roster item as the server last told us (RFC 6121 §2.1.2); groups live in `contact_group`.
public struct Contact: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "contact"

    /// RFC 6121 §2.1.2.5; "remove" never reaches the store, it deletes the row.
    public enum Subscription: String, Codable, Sendable, CaseIterable {
        case none, to, from, both

        /// Whether we receive the contact's presence.
        public var seesTheirPresence: Bool { self == .to || self == .both }
    }

    public var accountID: Int64
    public var jid: String
    public var name: String?
    public var subscription: Subscription
    public var ask: Bool
    public var approved: Bool
    public var updatedAt: Double

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id"
        case jid, name, subscription, ask, approved
        case updatedAt = "updated_at"
    }
}

/// One resource's presence (RFC 6121 §4.7): available or not, show, status, priority, when.
public struct ResourcePresence: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "presence"

    public var accountID: Int64
    public var jid: String
    public var resource: String
    public var available: Bool
    public var show: String?
    public var status: String?
    public var priority: Int
    public var updatedAt: Double
    /// XEP-0115 node and `ver` the presence advertised (sha-1 only, migration 0004): an
    /// unverified claim, trusted only when the same `ver` is already in the caps cache.
    public var capsNode: String?
    public var capsVer: String?

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id"
        case jid, resource, available, show, status, priority
        case updatedAt = "updated_at"
        case capsNode = "caps_node"
        case capsVer = "caps_ver"
    }

    public init(
        accountID: Int64, jid: String, resource: String, available: Bool, show: String? = nil, status: String? = nil,
        priority: Int = 0, updatedAt: Double, capsNode: String? = nil, capsVer: String? = nil
    ) {
        self.accountID = accountID
        self.jid = jid
        self.resource = resource
        self.available = available
        self.show = show
        self.status = status
        self.priority = priority
        self.updatedAt = updatedAt
        self.capsNode = capsNode
        self.capsVer = capsVer
    }

    /// Chat beats plain available beats away beats xa beats dnd, for picking the best resource.
    public var showRank: Int {
        switch show {
        case "chat": 5
        case nil: 4
        case "away": 3
        case "xa": 2
        default: 1
        }
    }
}

/// An unanswered `subscribe` from someone (RFC 6121 §3.1.3).
public struct SubscriptionRequest: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "subscription_request"

    public var accountID: Int64
    public var jid: String
    public var message: String?
    public var receivedAt: Double

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id"
        case jid, message
        case receivedAt = "received_at"
    }
}

/// Our own presence: what `tern status` set, and whether the live session has it yet.
public struct OwnPresence: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "own_presence"

    public var accountID: Int64
    /// nil: plain available ("online").
    public var show: String?
    public var status: String?
    public var revision: Int64
    public var sentRevision: Int64
    public var autoAwayMinutes: Int
    public var updatedAt: Double

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id"
        case show, status, revision
        case sentRevision = "sent_revision"
        case autoAwayMinutes = "auto_away_minutes"
        case updatedAt = "updated_at"
    }

    public init(accountID: Int64) {
        self.accountID = accountID
        revision = 1
        sentRevision = 0
        autoAwayMinutes = 0
        updatedAt = 0
    }
}

/// A contact as displayed: the roster item (or a pending add), its groups, presence and intent.
public struct RosterEntry: Sendable, Equatable {
    public var jid: String
    public var name: String?
    public var subscription: Contact.Subscription
    public var ask: Bool
    public var groups: [String]
    /// Available resources, best first.
    public var presence: [ResourcePresence]
    /// When offline: the latest of any resource's last change and the XEP-0012 answer
    /// (fetch time minus the seconds since logout), where known.
    public var lastSeen: Double?
    /// The latest edit not yet executed, if any.
    public var pending: RosterAction?
    /// Whether the server has this item (false for a pending add).
    public var onServer: Bool

    public init(
        jid: String, name: String?, subscription: Contact.Subscription, ask: Bool, groups: [String],
        presence: [ResourcePresence], lastSeen: Double?, pending: RosterAction?, onServer: Bool
    ) {
        self.jid = jid
        self.name = name
        self.subscription = subscription
        self.ask = ask
        self.groups = groups
        self.presence = presence
        self.lastSeen = lastSeen
        self.pending = pending
        self.onServer = onServer
    }
}

/// What the last roster fetch transferred.
public struct RosterFetch: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "roster_fetch"

    public var accountID: Int64
    public var full: Bool
    public var items: Int
    public var fetchedAt: Double

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id"
        case full, items
        case fetchedAt = "fetched_at"
    }
}
