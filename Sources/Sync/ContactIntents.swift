import Foundation
import Store
import XMPP

/// The UI's way to change the roster, answer subscriptions and set its own presence
/// (RFC 6121 §2–4): every change is written to the Store, and the sync engine executes it
/// on the live session or the next one (DESIGN §2).
public enum ContactIntents {
    /// A bare contact JID, or `SyncError.invalidRecipient`.
    public static func contactJID(_ text: String, account: Account) throws -> JID {
        let jid: JID
        do { jid = try JID(text) } catch { throw SyncError.invalidRecipient("\(error)") }
        guard jid.isBare else { throw SyncError.invalidRecipient("\(text): a contact is a bare JID (no /resource)") }
        guard jid.description != account.jid else { throw SyncError.invalidRecipient("\(text) is this account itself") }
        return jid
    }

    @discardableResult
    public static func add(store: Store, account: Account, jid text: String, name: String?, groups: [String]) throws -> Intent {
        let jid = try contactJID(text, account: account)
        let cleanGroups = groups.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return try store.enqueueRosterIntent(
            accountID: account.rowID, jid: jid.description, action: .add, name: name.flatMap { $0.isEmpty ? nil : $0 },
            groups: cleanGroups)
    }

    @discardableResult
    public static func update(store: Store, account: Account, jid text: String, name: String?, groups: [String]?) throws -> Intent {
        let jid = try contactJID(text, account: account)
        return try store.enqueueRosterIntent(accountID: account.rowID, jid: jid.description, action: .update, name: name, groups: groups)
    }

    @discardableResult
    public static func simple(
        _ action: RosterAction, store: Store, account: Account, jid text: String
    ) throws -> Intent {
        let jid = try contactJID(text, account: account)
        return try store.enqueueRosterIntent(accountID: account.rowID, jid: jid.description, action: action)
    }

    /// Stores one field of our own vCard (XEP-0054) to set; an empty value removes it. The
    /// owner fetches the vCard, changes the field and publishes it back.
    @discardableResult
    public static func setVCard(store: Store, account: Account, field: VCard.Field, value: String) throws -> Intent {
        try store.enqueueIntent(Intent(
            accountID: account.rowID, kind: .vcard, target: account.jid,
            payload: Intent.Payload(text: value, field: field.rawValue), createdAt: Store.now))
    }

    /// The show words `tern status` takes; "online" is plain available presence.
    public static let showWords = ["online", "chat", "away", "xa", "dnd"]

    /// Stores our presence; nil or "online" is plain available.
    @discardableResult
    public static func setStatus(store: Store, account: Account, show: String?, status: String?) throws -> OwnPresence {
        let stored: String?
        switch show {
        case nil, "online": stored = nil
        case let word? where Presence.Show(rawValue: word) != nil: stored = word
        case let word?: throw SyncError.invalidRecipient("unknown show \(word): use one of \(showWords.joined(separator: ", "))")
        }
        let text = status.flatMap { $0.isEmpty ? nil : $0 }
        return try store.setOwnPresence(accountID: account.rowID, show: stored, status: text)
    }
}
