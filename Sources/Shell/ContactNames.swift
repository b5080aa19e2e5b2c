import Foundation
import Store

/// A contact named the way people name them: a contact argument without `@` is looked up among
/// roster names and JID local parts, ignoring case and diacritics (`zeb` finds Zébédée). An
/// unknown or ambiguous name is an error listing the candidates, never a message to a domain
/// JID that happens to be spelled like the name (RFC 7622 §3.2 allows `bob` as a domain).
enum ContactNames {
    /// What a name stands for.
    enum Resolution: Equatable {
        /// Exactly one contact: its bare JID. Also any text with `@`, left to JID parsing.
        case jid(String)
        case unknown
        case ambiguous([Store.NamedContact])
    }

    /// An exact name beats an exact local part, which beats a prefix (of the JID, the name or a
    /// word of the name: `Store.NamedContact.starts(with:)`); several at the best level found
    /// are ambiguous.
    static func resolve(_ text: String, among contacts: [Store.NamedContact]) -> Resolution {
        guard !text.contains("@") else { return .jid(text) }
        var folder = Store.NamedContact.Folder()
        let wanted = folder.fold(text)
        guard !wanted.isEmpty else { return .unknown }
        let levels: [(Store.NamedContact, inout Store.NamedContact.Folder) -> Bool] = [
            { contact, folder in contact.name.map { folder.fold($0) } == wanted },
            { contact, folder in folder.fold(localPart(contact.jid)) == wanted },
            { contact, folder in contact.starts(with: wanted, folder: &folder) },
        ]
        for level in levels {
            let found = contacts.filter { level($0, &folder) }
            if found.count == 1 { return .jid(found[0].jid) }
            if found.count > 1 { return .ambiguous(found) }
        }
        return .unknown
    }

    /// Case and diacritics folded (`Store.NamedContact.fold`).
    static func fold(_ text: String) -> String { Store.NamedContact.fold(text) }

    static func localPart(_ jid: String) -> String {
        guard let at = jid.firstIndex(of: "@") else { return jid }
        return String(jid[..<at])
    }

    /// The bare JID `text` names, or the one-line error that says why it names none.
    static func jid(_ text: String, among contacts: [Store.NamedContact], rooms: Bool = false) throws(NameError) -> String {
        switch resolve(text, among: contacts) {
        case .jid(let jid): return jid
        case .unknown:
            throw NameError(message: rooms
                ? "no contact or room is called \"\(text)\": give a JID (user@domain), a roster name or a room's name"
                : "no contact is called \"\(text)\": give a JID (user@domain) or a roster name")
        case .ambiguous(let candidates): throw NameError(message: "\"\(text)\" matches \(listing(candidates)): say which")
        }
    }

    /// `alice@x (Alice) and alan@x (Alan)`, at most `shown` of them.
    static func listing(_ candidates: [Store.NamedContact], shown: Int = 5) -> String {
        var parts = candidates.prefix(shown).map { contact in contact.jid + (contact.name.map { " (\($0))" } ?? "") }
        if candidates.count > shown { parts.append("\(candidates.count - shown) more") }
        guard parts.count > 1 else { return parts.joined() }
        return parts.dropLast().joined(separator: ", ") + " and " + parts[parts.count - 1]
    }

    /// The bare JID a contact argument names, looked up in the account's roster when it has no
    /// `@`; with `rooms`, a conversation argument, among the rooms we know too (`lounge`).
    static func jid(_ text: String, store: Store, accountID: Int64, rooms: Bool = false) throws(NameError) -> String {
        guard !text.contains("@") else { return text }
        let candidates: [Store.NamedContact]
        do {
            candidates = try store.namedContacts(accountID: accountID) + (rooms ? store.namedRooms(accountID: accountID) : [])
        } catch {
            throw NameError(message: "cannot read the roster to look up \"\(text)\"")
        }
        return try jid(text, among: candidates, rooms: rooms)
    }

    struct NameError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}

extension ContactNames {
    /// For CLI arguments: as `jid(_:store:accountID:rooms:)`, a bad name being a usage error (exit 64).
    static func argument(_ text: String, store: Store, accountID: Int64, rooms: Bool = false) throws -> String {
        do { return try jid(text, store: store, accountID: accountID, rooms: rooms) } catch { throw UsageFailure(error.message) }
    }
}
