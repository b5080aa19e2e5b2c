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

        /// `text` with case and diacritics folded, so `Zébédée`, `zebedee` and `ZEBEDEE` compare equal.
        public static func fold(_ text: String) -> String {
            var folder = Folder()
            return folder.fold(text)
        }

        /// Whether `wanted` (folded) starts the JID (so its local part too), the name, or a
        /// word of the name (`smi` finds Alice Smith): what a typed name may be short for.
        public func starts(with wanted: String, folder: inout Folder) -> Bool {
            if folder.starts(jid.unicodeScalars, with: wanted) { return true }
            guard let name else { return false }
            // Typed with a space, it can only start the whole name ("big a" for Big Al).
            if wanted.contains(where: \.isWhitespace) { return folder.starts(name.unicodeScalars, with: wanted) }
            return folder.anyWord(of: name, startsWith: wanted)
        }

        /// Folds case and diacritics character by character, remembering each non-ASCII one:
        /// names share few of them, and Foundation's folding costs microseconds a call, which a
        /// Tab over thousands of contacts would feel. ASCII is lowercased directly.
        public struct Folder {
            private var known: [Unicode.Scalar: String.UnicodeScalarView] = [:]

            public init() {}

            public mutating func fold(_ text: String) -> String {
                if text.utf8.allSatisfy({ $0 < 0x80 }) { return text.lowercased() }
                var folded = String.UnicodeScalarView()
                for scalar in text.unicodeScalars {
                    if scalar.isASCII {
                        folded.append(Self.lowered(scalar))
                    } else {
                        folded.append(contentsOf: fold(nonASCII: scalar))
                    }
                }
                return String(folded)
            }

            /// Whether `text`, folded, starts with `wanted` (already folded). Folds only as far
            /// as it compares, so most contacts are turned down at their first character.
            public mutating func starts<Scalars: Sequence<Unicode.Scalar>>(_ text: Scalars, with wanted: String) -> Bool {
                var expected = wanted.unicodeScalars.makeIterator()
                guard var next = expected.next() else { return true }
                for scalar in text {
                    if scalar.isASCII {
                        guard Self.lowered(scalar) == next else { return false }
                        guard let following = expected.next() else { return true }
                        next = following
                        continue
                    }
                    for folded in fold(nonASCII: scalar) {
                        guard folded == next else { return false }
                        guard let following = expected.next() else { return true }
                        next = following
                    }
                }
                return false
            }

            /// Whether `wanted` (folded) starts any word of `text`.
            public mutating func anyWord(of text: String, startsWith wanted: String) -> Bool {
                let scalars = text.unicodeScalars
                var atWordStart = true
                var index = scalars.startIndex
                while index < scalars.endIndex {
                    let scalar = scalars[index]
                    let blank = scalar.isASCII ? scalar == " " || scalar == "\t" : scalar.properties.isWhitespace
                    if atWordStart, !blank, starts(scalars[index...], with: wanted) { return true }
                    atWordStart = blank
                    index = scalars.index(after: index)
                }
                return false
            }

            /// An ASCII letter in lower case; any other ASCII as it is.
            private static func lowered(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
                (65...90).contains(scalar.value) ? Unicode.Scalar(UInt8(scalar.value + 32)) : scalar
            }

            private mutating func fold(nonASCII scalar: Unicode.Scalar) -> String.UnicodeScalarView {
                if let known = known[scalar] { return known }
                let folded = String(scalar).folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
                known[scalar] = folded.unicodeScalars
                return folded.unicodeScalars
            }
        }
    }

    /// Every roster contact with its name, plus contacts added locally that the server has not
    /// confirmed yet (a pending add's name wins: it is what the user just typed), by JID.
    public func namedContacts(accountID: Int64) throws -> [NamedContact] {
        try read { db in
            var contacts: [NamedContact] = []
            let rows = try Row.fetchCursor(
                db, sql: "SELECT jid, name FROM contact WHERE account_id = ? ORDER BY jid", arguments: [accountID])
            while let row = try rows.next() { contacts.append(NamedContact(jid: row[0], name: row[1])) }
            let pendingKinds = [RosterAction.add.kind.rawValue, RosterAction.update.kind.rawValue]
            let pending = try Intent
                .filter(Column("account_id") == accountID && ["queued", "sent"].contains(Column("state")))
                .filter(pendingKinds.contains(Column("kind")))
                .order(Column("id"))
                .fetchAll(db)
            // Usually nothing is pending: the rows come back as read, already in order.
            guard !pending.isEmpty else { return contacts }
            var byJID = Dictionary(uniqueKeysWithValues: contacts.map { ($0.jid, $0.name) })
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

    /// The rooms we know, each with its name (from disco#info or the bookmark) when it has one:
    /// a conversation argument may name a room as it names a contact.
    public func namedRooms(accountID: Int64) throws -> [NamedContact] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT jid, name FROM room WHERE account_id = ? ORDER BY jid", arguments: [accountID])
                .map { NamedContact(jid: $0[0], name: $0[1]) }
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
