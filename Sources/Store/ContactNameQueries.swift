import Foundation
import GRDB

/// Cheap reads behind the shell's names and completion: what a contact is called, which rooms
/// we know and which accounts are stored. Each is one small query on a reader of the pool, so
/// Tab and name lookups never wait behind the network or a writer.
extension Store {
    /// A contact as names find it: its bare JID and the roster name, if any.
    public struct NamedContact: Sendable, Equatable {
        public var jid: String
        public var name: String?

        public init(jid: String, name: String?) {
            self.jid = jid
            self.name = name
        }
    }

    /// Every roster contact with its name, plus contacts added locally that the server has not
    /// confirmed yet (a pending add's name wins: it is what the user just typed), by JID.
    public func namedContacts(accountID: Int64) throws -> [NamedContact] {
        try read { db in
            var byJID: [String: String?] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT jid, name FROM contact WHERE account_id = ?", arguments: [accountID])
            while let row = try rows.next() { byJID[row[0]] = .some(row[1]) }
            let pendingKinds = [RosterAction.add.kind.rawValue, RosterAction.update.kind.rawValue]
            let pending = try Intent
                .filter(Column("account_id") == accountID && ["queued", "sent"].contains(Column("state")))
                .filter(pendingKinds.contains(Column("kind")))
                .order(Column("id"))
                .fetchAll(db)
            for intent in pending {
                if let name = intent.arguments.name {
                    byJID[intent.target] = .some(name)
                } else if byJID[intent.target] == nil {
                    byJID[intent.target] = .some(nil)
                }
            }
            return byJID.map { NamedContact(jid: $0.key, name: $0.value) }.sorted { $0.jid < $1.jid }
        }
    }

    /// Bare JIDs of the rooms we know (joined, wanted or bookmarked), by JID.
    public func roomJIDs(accountID: Int64) throws -> [String] {
        try read { db in
            try String.fetchAll(db, sql: "SELECT jid FROM room WHERE account_id = ? ORDER BY jid", arguments: [accountID])
        }
    }

    /// Nicks of a room's occupants as last seen, ours left out.
    public func occupantNicks(accountID: Int64, room: String) throws -> [String] {
        try read { db in
            try String.fetchAll(
                db, sql: "SELECT nick FROM occupant WHERE account_id = ? AND room = ? AND NOT is_self ORDER BY nick COLLATE NOCASE",
                arguments: [accountID, room])
        }
    }
}

extension Store {
    /// Contact and room JIDs of every account in the store at `directory`, for a shell's
    /// completion script: opened read-only, never created or migrated, and empty on any doubt
    /// (no store yet, an older schema, a busy writer), so Tab can never change or block anything.
    public static func completionJIDs(directory: String) -> [String] {
        let path = (directory as NSString).appendingPathComponent("tern.sqlite")
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(0.2)
        guard let queue = try? DatabaseQueue(path: path, configuration: config) else { return [] }
        let jids = try? queue.read { db in
            try String.fetchAll(db, sql: "SELECT jid FROM contact UNION SELECT jid FROM room ORDER BY 1")
        }
        return jids ?? []
    }
}
