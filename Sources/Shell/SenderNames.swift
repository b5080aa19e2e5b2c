import Foundation
import Store
import XMPP

/// Who sent a message, as people know them: "me", a room nick, or the roster name.
struct SenderNames {
    let store: Store
    let accountID: Int64

    func name(_ message: StoredMessage) -> String {
        if message.direction == .outgoing { return "me" }
        if message.type == "groupchat", let nick = message.nick { return Sanitizer.inert(nick) }
        return contact(message.sender)
    }

    /// A one-to-one sender (a full or bare JID): its roster name, else the JID as shown.
    func contact(_ jid: String) -> String {
        rosterName((try? JID(jid).bare.description) ?? jid) ?? Renderer.sender(jid)
    }

    /// The roster name of a bare JID, made inert, when it has one.
    func rosterName(_ bare: String) -> String? {
        guard let contact = try? store.contact(accountID: accountID, jid: bare), let name = contact.name, !name.isEmpty else { return nil }
        return Sanitizer.inert(name)
    }

    /// The name on a shell line: "me", the nick in a room (and in a private chat with an
    /// occupant), else the roster name or the bare JID. The resource is left to `/info`.
    static func lineName(_ message: StoredMessage, rosterName: (String) -> String?) -> String {
        if message.direction == .outgoing { return "me" }
        if message.type == "groupchat", let nick = message.nick { return Sanitizer.inert(nick) }
        let sender = try? JID(message.sender)
        // A room occupant's address is room/nick: the nick is who it is.
        if message.conversation.contains("/"), let nick = sender?.resource { return Sanitizer.inert(nick) }
        let bare = sender?.bare.description ?? message.sender
        return rosterName(bare) ?? Sanitizer.inert(bare)
    }
}

/// Roster names as the shell shows them on every line: read from the Store once per contact,
/// then kept a short while, so a catch-up of thousands of lines does not query per line and a
/// renamed contact shows its new name soon (at once on the roster events the shell sees).
struct RosterNameCache {
    /// Seconds a read name is trusted.
    static let lifetime: Double = 10
    /// Contacts kept at most; past that the cache starts over.
    static let kept = 1024

    private var names: [String: String?] = [:]
    private var filledSince: Double?

    /// The roster name of `bare` (nil when it has none), from `lookup` unless known.
    mutating func name(_ bare: String, now: Double, lookup: (String) -> String?) -> String? {
        if let since = filledSince, now - since > Self.lifetime || now < since { forget() }
        if let known = names[bare] { return known }
        if names.count >= Self.kept { forget() }
        let name = lookup(bare)
        names[bare] = .some(name)
        if filledSince == nil { filledSince = now }
        return name
    }

    mutating func forget() {
        names = [:]
        filledSince = nil
    }
}
