import GRDB

/// XEP-0045 §7 rooms as the store keeps them (migration 0007): what the user wants, what the
/// session reached, and the XEP-0402 bookmark mirror. No XMPP types: Sync translates.
public struct Room: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "room"

    /// left → joining → joined; gone: the room went away or kicked us; failed: the join was refused.
    public enum State: String, Codable, Sendable { case left, joining, joined, gone, failed }

    /// A local bookmark change the server has not been told about yet.
    public enum BookmarkSync: String, Codable, Sendable { case publish, retract }

    public var accountID: Int64
    public var jid: String
    public var nick: String
    public var joinedNick: String?
    public var password: String?
    public var name: String?
    public var autojoin: Bool
    public var bookmarked: Bool
    public var bookmarkSync: BookmarkSync?
    public var wanted: Bool
    public var state: State
    public var lastError: String?
    public var subject: String?
    public var subjectBy: String?
    /// Whether the room advertises MAM; nil until asked.
    public var archived: Bool?
    public var mamLastID: String?
    public var updatedAt: Double
    /// The bookmark's `<extensions/>` from other clients, serialised, kept for republishing (0008).
    public var bookmarkExtensions: String?
    /// Whether the room advertises XEP-0421 occupant-ids; nil until asked. Only then are they kept.
    public var occupantIDs: Bool? = nil

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id"
        case jid, nick
        case joinedNick = "joined_nick"
        case password, name, autojoin, bookmarked
        case bookmarkSync = "bookmark_sync"
        case wanted, state
        case lastError = "last_error"
        case subject
        case subjectBy = "subject_by"
        case archived
        case mamLastID = "mam_last_id"
        case updatedAt = "updated_at"
        case bookmarkExtensions = "bookmark_extensions"
        case occupantIDs = "occupant_ids"
    }

    public init(
        accountID: Int64, jid: String, nick: String, joinedNick: String? = nil, password: String? = nil,
        name: String? = nil, autojoin: Bool = false, bookmarked: Bool = false, bookmarkSync: BookmarkSync? = nil,
        wanted: Bool = false, state: State = .left, lastError: String? = nil, subject: String? = nil,
        subjectBy: String? = nil, archived: Bool? = nil, mamLastID: String? = nil, updatedAt: Double = Store.now,
        bookmarkExtensions: String? = nil
    ) {
        self.accountID = accountID
        self.jid = jid
        self.nick = nick
        self.joinedNick = joinedNick
        self.password = password
        self.name = name
        self.autojoin = autojoin
        self.bookmarked = bookmarked
        self.bookmarkSync = bookmarkSync
        self.wanted = wanted
        self.state = state
        self.lastError = lastError
        self.subject = subject
        self.subjectBy = subjectBy
        self.archived = archived
        self.mamLastID = mamLastID
        self.updatedAt = updatedAt
        self.bookmarkExtensions = bookmarkExtensions
    }

    /// The nick to show as ours: the one the room gave us (it may rewrite it), else the one we asked for.
    public var currentNick: String { joinedNick ?? nick }

    /// The bookmark to publish for this room, as the local row has it.
    public var bookmark: RoomBookmark {
        RoomBookmark(jid: jid, name: name, autojoin: autojoin, nick: nick, password: password, extensions: bookmarkExtensions)
    }
}

/// One person in a room (XEP-0045 §7.2.3 presence): role, affiliation and, when the room
/// reveals it, the real JID.
public struct Occupant: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "occupant"

    public var accountID: Int64
    public var room: String
    public var nick: String
    public var role: String?
    public var affiliation: String?
    public var realJID: String?
    public var show: String?
    public var status: String?
    public var isSelf: Bool

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id"
        case room, nick, role, affiliation
        case realJID = "real_jid"
        case show, status
        case isSelf = "is_self"
    }

    public init(
        accountID: Int64, room: String, nick: String, role: String? = nil, affiliation: String? = nil,
        realJID: String? = nil, show: String? = nil, status: String? = nil, isSelf: Bool = false
    ) {
        self.accountID = accountID
        self.room = room
        self.nick = nick
        self.role = role
        self.affiliation = affiliation
        self.realJID = realJID
        self.show = show
        self.status = status
        self.isSelf = isSelf
    }
}

/// An invitation to a room: XEP-0249 direct, or XEP-0045 §7.8.2 mediated through the room.
public struct RoomInvite: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "room_invite"

    public enum Kind: String, Codable, Sendable { case direct, mediated }
    public enum State: String, Codable, Sendable { case pending, accepted, declined }

    public var id: Int64?
    public var accountID: Int64
    public var room: String
    public var inviter: String?
    public var reason: String?
    public var password: String?
    public var kind: Kind
    public var receivedAt: Double
    public var state: State

    enum CodingKeys: String, CodingKey {
        case id
        case accountID = "account_id"
        case room, inviter, reason, password, kind
        case receivedAt = "received_at"
        case state
    }

    public init(
        id: Int64? = nil, accountID: Int64, room: String, inviter: String? = nil, reason: String? = nil,
        password: String? = nil, kind: Kind, receivedAt: Double, state: State = .pending
    ) {
        self.id = id
        self.accountID = accountID
        self.room = room
        self.inviter = inviter
        self.reason = reason
        self.password = password
        self.kind = kind
        self.receivedAt = receivedAt
        self.state = state
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

/// A bookmark as the server holds it (XEP-0402 §3 conference element), without any XMPP types.
public struct RoomBookmark: Sendable, Equatable {
    public var jid: String
    public var name: String?
    public var autojoin: Bool
    public var nick: String?
    public var password: String?
    /// Other clients' `<extensions/>`, serialised: published back unchanged (XEP-0402 §3).
    public var extensions: String?

    public init(
        jid: String, name: String? = nil, autojoin: Bool = false, nick: String? = nil, password: String? = nil,
        extensions: String? = nil
    ) {
        self.jid = jid
        self.name = name
        self.autojoin = autojoin
        self.nick = nick
        self.password = password
        self.extensions = extensions
    }
}
