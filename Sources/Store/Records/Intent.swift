import Foundation
import GRDB

/// An outgoing action other than a message, stored before anything touches the network
/// (DESIGN §2, issue 13): a room action, a vCard edit, a roster or subscription edit, a
/// block or unblock, a details refresh. The owner of the connection carries it out once and
/// records the outcome; whoever wrote it reads the outcome here. Messages are `OutboxItem`s.
public struct Intent: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "intent"

    /// What to do. The raw value is what `tern outbox` shows as the kind.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case rosterAdd = "roster-add", rosterEdit = "roster-edit", rosterRemove = "roster-remove"
        case accept, deny
        case block, unblock
        case detailsRefresh = "details-refresh"
        case vcard
        case roomSubject = "room-subject", roomNick = "room-nick", roomKick = "room-kick", roomBan = "room-ban"
        case roomInvite = "room-invite"
        case roomConfig = "room-config"
        /// A file to upload (XEP-0363) and then send as a message with its URL.
        case file

        /// A room action waits until its room is joined (XEP-0045: only an occupant may act).
        public var needsJoinedRoom: Bool { rawValue.hasPrefix("room-") }

        /// Work the user did not ask for as such (a refresh behind `tern info`): not listed.
        public var isListed: Bool { self != .detailsRefresh }
    }

    /// queued → sent (taken by the owner) → done | failed; cancelled by the user while queued.
    public enum State: String, Codable, Sendable, CaseIterable {
        case queued, sent, done, failed, cancelled

        /// Nothing more happens to it unless the user retries it.
        public var isFinished: Bool { self == .done || self == .failed || self == .cancelled }
    }

    /// The kind's arguments; each kind uses the fields it needs.
    public struct Payload: Codable, Sendable, Equatable {
        /// A contact's display name.
        public var name: String?
        /// Roster groups; nil leaves them as they are.
        public var groups: [String]?
        /// A room subject, or a vCard field's new value ("" removes it).
        public var text: String?
        /// A new nick, or the occupant to kick.
        public var nick: String?
        /// Whom to ban or invite.
        public var jid: String?
        public var reason: String?
        /// The vCard field.
        public var field: String?
        /// A file: the copy in the data directory that is uploaded, and its size in bytes.
        public var path: String?
        public var size: Int64?

        public init(
            name: String? = nil, groups: [String]? = nil, text: String? = nil, nick: String? = nil, jid: String? = nil,
            reason: String? = nil, field: String? = nil, path: String? = nil, size: Int64? = nil
        ) {
            self.name = name
            self.groups = groups
            self.text = text
            self.nick = nick
            self.jid = jid
            self.reason = reason
            self.field = field
            self.path = path
            self.size = size
        }
    }

    public var id: Int64?
    public var accountID: Int64
    public var kind: Kind
    /// The room, the contact, or our own bare JID (vCard).
    public var target: String
    /// `Payload` as JSON.
    public var payload: String
    public var state: State
    public var attempts: Int
    public var error: String?
    public var createdAt: Double
    public var doneAt: Double?
    /// A file upload: the bytes sent so far (migration 0018).
    public var progress: Int64? = nil

    enum CodingKeys: String, CodingKey {
        case id
        case accountID = "account_id"
        case kind, target, payload, state, attempts, error, progress
        case createdAt = "created_at"
        case doneAt = "done_at"
    }

    public init(accountID: Int64, kind: Kind, target: String, payload: Payload = Payload(), createdAt: Double) {
        self.accountID = accountID
        self.kind = kind
        self.target = target
        self.payload = (try? String(decoding: JSONEncoder().encode(payload), as: UTF8.self)) ?? "{}"
        state = .queued
        attempts = 0
        self.createdAt = createdAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    /// The arguments; an unreadable payload reads as none.
    public var arguments: Payload {
        (try? JSONDecoder().decode(Payload.self, from: Data(payload.utf8))) ?? Payload()
    }

    /// The roster action a roster or subscription intent stands for.
    public var rosterAction: RosterAction? { RosterAction(kind) }

    /// What the action is, in a few words, for `tern outbox` (raw text: the caller makes it inert).
    public var summary: String {
        let args = arguments
        let reason = args.reason.map { ": \($0)" } ?? ""
        switch kind {
        case .rosterAdd, .rosterEdit:
            var parts: [String] = []
            if let name = args.name { parts.append("name \(name)") }
            if let groups = args.groups { parts.append(groups.isEmpty ? "no groups" : "groups \(groups.joined(separator: ", "))") }
            return parts.joined(separator: "; ")
        case .rosterRemove, .accept, .deny, .block, .unblock, .detailsRefresh: return ""
        case .vcard:
            let field = args.field ?? "?"
            return (args.text ?? "").isEmpty ? "remove \(field)" : "\(field): \(args.text ?? "")"
        case .roomSubject: return args.text ?? ""
        case .roomNick: return args.nick ?? ""
        case .roomKick: return (args.nick ?? "") + reason
        case .roomBan, .roomInvite: return (args.jid ?? "") + reason
        case .roomConfig: return "\(args.field ?? "?") = \(args.text ?? "")"
        case .file: return (args.name ?? "?") + (args.size.map { " (\($0) bytes)" } ?? "")
        }
    }
}

/// A roster or subscription edit (RFC 6121 §2–3), as the roster shows it pending.
public enum RosterAction: String, Codable, Sendable, CaseIterable {
    case add, remove, update, accept, deny

    public var kind: Intent.Kind {
        switch self {
        case .add: .rosterAdd
        case .update: .rosterEdit
        case .remove: .rosterRemove
        case .accept: .accept
        case .deny: .deny
        }
    }

    init?(_ kind: Intent.Kind) {
        guard let action = Self.allCases.first(where: { $0.kind == kind }) else { return nil }
        self = action
    }
}
