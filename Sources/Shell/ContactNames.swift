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

    /// An exact name beats an exact local part, which beats a prefix (of the name, of any word
    /// in it, or of the JID); several at the best level found are ambiguous.
    static func resolve(_ text: String, among contacts: [Store.NamedContact]) -> Resolution {
        guard !text.contains("@") else { return .jid(text) }
        let wanted = fold(text)
        guard !wanted.isEmpty else { return .unknown }
        let folded = contacts.map { (contact: $0, name: $0.name.map(fold), local: fold(localPart($0.jid))) }
        let levels: [(_ name: String?, _ local: String) -> Bool] = [
            { name, _ in name == wanted },
            { _, local in local == wanted },
            { name, local in matchesPrefix(wanted, name: name, local: local) },
        ]
        for level in levels {
            let found = folded.filter { level($0.name, $0.local) }.map(\.contact)
            if found.count == 1 { return .jid(found[0].jid) }
            if found.count > 1 { return .ambiguous(found) }
        }
        return .unknown
    }

    /// Whether `wanted` (folded) starts the local part, the name or a word of the name.
    static func matchesPrefix(_ wanted: String, name: String?, local: String) -> Bool {
        local.hasPrefix(wanted) || nameStarts(with: wanted, name)
    }

    /// Whether `wanted` (folded) starts the (folded) name or one of its words: `smi` finds Alice Smith.
    static func nameStarts(with wanted: String, _ name: String?) -> Bool {
        guard let name else { return false }
        return name.hasPrefix(wanted) || name.split(whereSeparator: \.isWhitespace).contains { $0.hasPrefix(wanted) }
    }

    /// Case and diacritics folded, so `Zébédée`, `zebedee` and `ZEBEDEE` compare equal.
    static func fold(_ text: String) -> String {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
    }

    static func localPart(_ jid: String) -> String {
        guard let at = jid.firstIndex(of: "@") else { return jid }
        return String(jid[..<at])
    }

    /// The bare JID `text` names, or the one-line error that says why it names none.
    static func jid(_ text: String, among contacts: [Store.NamedContact]) throws(NameError) -> String {
        switch resolve(text, among: contacts) {
        case .jid(let jid): return jid
        case .unknown: throw NameError(message: "no contact is called \"\(text)\": give a JID (user@domain) or a roster name")
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

    /// The bare JID a contact argument names, looked up in the account's roster when it has no `@`.
    static func jid(_ text: String, store: Store, accountID: Int64) throws(NameError) -> String {
        guard !text.contains("@") else { return text }
        let contacts: [Store.NamedContact]
        do { contacts = try store.namedContacts(accountID: accountID) } catch { throw NameError(message: "cannot read the roster to look up \"\(text)\"") }
        return try jid(text, among: contacts)
    }

    struct NameError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}

extension ContactNames {
    /// For CLI arguments: as `jid(_:store:accountID:)`, a bad name being a usage error (exit 64).
    static func argument(_ text: String, store: Store, accountID: Int64) throws -> String {
        do { return try jid(text, store: store, accountID: accountID) } catch { throw UsageFailure(error.message) }
    }
}
