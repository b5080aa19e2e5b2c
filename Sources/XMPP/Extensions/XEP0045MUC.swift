import Foundation

/// XEP-0045: Multi-User Chat (`http://jabber.org/protocol/muc`, `#user`, `#admin`, `#owner`), client side:
/// §7.2 entering a room (its error cases and "Managing Discussion History"), §7.6 changing nickname,
/// §7.8.2 mediated invitations, §7.14 exiting, §8.1 subject, §8.2 kicking, §9.1 banning,
/// §10.1.2 instant rooms, and the status codes of the XMPP Registrar's MUC status registry.
///
/// Everything here is a pure function of stanzas: the join state machine and occupant lists live in
/// Sync. Text taken from the network (reasons, subjects, nicks) is returned verbatim; making it inert
/// for the terminal is the Shell's job.
public enum MUC {
    // MARK: - Entering, leaving, renaming (§7.2, §7.6, §7.14)

    /// How much discussion history to ask for on entering (§7.2, "Managing Discussion History").
    public enum History: Sendable, Equatable {
        /// `maxstanzas='0'`: nothing; MAM or our Store has it already.
        case none
        /// `since`: only what was said after this instant.
        case since(Date)
        /// No `<history/>`: whatever the room sends by default.
        case serverDefault
    }

    /// The presence that enters the room as `occupant` (room@service/nick).
    ///
    /// `since` is written without fractions of a second (XEP-0082 allows both; some services parse
    /// only the plain form), which can only bring one message more, and that one dedupes.
    public static func joinPresence(
        occupant: JID, password: String?, history: History,
        show: Presence.Show? = nil, status: String? = nil
    ) -> Element {
        var mucChildren: [Element] = []
        switch history {
        case .none:
            mucChildren.append(Element("history", namespace: NS.muc, attributes: ["maxstanzas": "0"]))
        case .since(let date):
            let stamp = date.formatted(Date.ISO8601FormatStyle())
            mucChildren.append(Element("history", namespace: NS.muc, attributes: ["since": stamp]))
        case .serverDefault:
            break
        }
        if let password {
            mucChildren.append(Element("password", namespace: NS.muc, elements: [], text: password))
        }
        var children = [Element("x", namespace: NS.muc, elements: mucChildren)]
        if let show { children.append(clientText("show", show.rawValue)) }
        if let status, !status.isEmpty { children.append(clientText("status", status)) }
        return Element("presence", namespace: NS.client, attributes: ["to": occupant.description], elements: children)
    }

    /// Exits the room (§7.14); the status, if any, is shown to the remaining occupants.
    public static func leavePresence(occupant: JID, status: String?) -> Element {
        var children: [Element] = []
        if let status, !status.isEmpty { children.append(clientText("status", status)) }
        return Element(
            "presence", namespace: NS.client,
            attributes: ["to": occupant.description, "type": "unavailable"], elements: children)
    }

    /// Asks for a new nickname (§7.6): plain presence to the new occupant JID, without the MUC `<x/>`
    /// (which would read as a fresh join).
    public static func nickChangePresence(newOccupant: JID) -> Element {
        Element("presence", namespace: NS.client, attributes: ["to": newOccupant.description])
    }

    // MARK: - Occupant presence (§7.2.3 and on)

    public enum Role: String, Sendable, Equatable, CaseIterable {
        case none, visitor, participant, moderator
    }

    public enum Affiliation: String, Sendable, Equatable, CaseIterable {
        case none, outcast, member, admin, owner
    }

    /// The status codes tern acts on (XMPP Registrar, MUC status codes).
    public enum StatusCode: Int, Sendable, Equatable, CaseIterable {
        /// Real JIDs are visible to every occupant (non-anonymous room).
        case nonAnonymous = 100
        /// This presence is about our own occupant.
        case selfPresence = 110
        /// The room is logged (possibly publicly).
        case loggingEnabled = 170
        /// We created the room; it stays locked until configured (§10.1).
        case roomCreated = 201
        /// The service assigned or changed our nick; the self-presence's nick is the one that counts.
        case nickAssigned = 210
        case banned = 301
        case nickChanged = 303
        case kicked = 307
        case removedByAffiliationChange = 321
        case removedMembersOnly = 322
        case serviceShutdown = 332
        case removedOnError = 333

        /// One line for the Shell.
        public var summary: String {
            switch self {
            case .nonAnonymous: "this room shows your real address to everyone in it"
            case .selfPresence: "this is your own presence in the room"
            case .loggingEnabled: "this room's conversation is logged"
            case .roomCreated: "a new room was created and awaits configuration"
            case .nickAssigned: "the service set your nickname in this room"
            case .banned: "banned from the room"
            case .nickChanged: "changed nickname"
            case .kicked: "kicked from the room"
            case .removedByAffiliationChange: "removed from the room because their affiliation changed"
            case .removedMembersOnly: "removed from the room because it is now members-only"
            case .serviceShutdown: "removed from the room because the service is shutting down"
            case .removedOnError: "removed from the room because of an error (e.g. a lost server link)"
            }
        }
    }

    /// Why an occupant is no longer in the room, read off an unavailable presence.
    public enum Exit: Sendable, Equatable {
        case left
        case kicked(reason: String?)
        case banned(reason: String?)
        case removedByAffiliationChange
        case membersOnly
        case shutdown
        case nickChanged(to: String)
        /// 333: the service dropped the occupant after an error (often with 307).
        case errorRemoval
        /// §10.9: the room was destroyed, perhaps pointing at a successor.
        case roomDestroyed(reason: String?, alternate: JID?)
    }

    /// A `<presence/>` from room@service/nick carrying MUC user data.
    public struct OccupantPresence: Sendable, Equatable {
        /// The room's bare JID.
        public var room: JID
        public var nick: String
        public var isAvailable: Bool
        public var role: Role?
        public var affiliation: Affiliation?
        /// Only in non-anonymous rooms, or for moderators of semi-anonymous ones.
        public var realJID: JID?
        public var statusCodes: Set<Int>
        /// With 303: the nick the occupant is changing to.
        public var newNick: String?
        public var reason: String?
        /// Who kicked or banned: the actor's nick, else its JID.
        public var actor: String?
        /// The room's `<destroy/>`, if the room is going away.
        public var destroyReason: String?
        public var destroyAlternate: JID?
        public var isDestroyed: Bool
        public var status: String?
        public var show: String?

        /// 110: this presence is about our own occupant.
        public var isSelf: Bool { statusCodes.contains(StatusCode.selfPresence.rawValue) }

        /// The codes tern knows, in ascending order.
        public var knownStatusCodes: [StatusCode] { statusCodes.sorted().compactMap(StatusCode.init(rawValue:)) }

        /// Nil while the occupant is present. Precedence: a nick change is not an exit at all, a destroyed
        /// room outranks everything, and 333 outranks the 307 it usually travels with.
        public var exit: Exit? {
            guard !isAvailable else { return nil }
            func has(_ code: StatusCode) -> Bool { statusCodes.contains(code.rawValue) }
            if has(.nickChanged), let newNick { return .nickChanged(to: newNick) }
            if isDestroyed { return .roomDestroyed(reason: destroyReason, alternate: destroyAlternate) }
            if has(.banned) { return .banned(reason: reason) }
            if has(.removedByAffiliationChange) { return .removedByAffiliationChange }
            if has(.removedMembersOnly) { return .membersOnly }
            if has(.serviceShutdown) { return .shutdown }
            if has(.removedOnError) { return .errorRemoval }
            if has(.kicked) { return .kicked(reason: reason) }
            return .left
        }
    }

    /// Parses an occupant's presence; nil for anything else (no `muc#user` `<x/>`, no nick in `from`,
    /// or a type other than available/unavailable — errors go to `joinError`).
    public static func occupantPresence(_ presence: Element) -> OccupantPresence? {
        guard presence.matches("presence", NS.client),
              let from = presence["from"].flatMap(JID.init(validating:)),
              from.local != nil, let nick = from.resource,
              let x = presence.child("x", namespace: NS.mucUser)
        else { return nil }
        let isAvailable: Bool
        switch presence["type"] {
        case nil: isAvailable = true
        case "unavailable": isAvailable = false
        default: return nil
        }
        let codes = Set(x.children("status", namespace: NS.mucUser).compactMap { $0["code"].flatMap { Int($0) } })
        let item = x.child("item", namespace: NS.mucUser)
        let actor = item?.child("actor", namespace: NS.mucUser)
        let destroy = x.child("destroy", namespace: NS.mucUser)
        return OccupantPresence(
            room: from.bare,
            nick: nick,
            isAvailable: isAvailable,
            role: item?["role"].flatMap(Role.init(rawValue:)),
            affiliation: item?["affiliation"].flatMap(Affiliation.init(rawValue:)),
            realJID: item?["jid"].flatMap(JID.init(validating:)),
            statusCodes: codes,
            newNick: codes.contains(StatusCode.nickChanged.rawValue) ? nonEmpty(item?["nick"]) : nil,
            reason: nonEmpty(item?.childText("reason", namespace: NS.mucUser)),
            actor: nonEmpty(actor?["nick"]) ?? nonEmpty(actor?["jid"]),
            destroyReason: nonEmpty(destroy?.childText("reason", namespace: NS.mucUser)),
            destroyAlternate: destroy?["jid"].flatMap(JID.init(validating:)),
            isDestroyed: destroy != nil,
            status: presence.childText("status", namespace: NS.client),
            show: presence.childText("show", namespace: NS.client))
    }

    // MARK: - Join errors (§7.2: password, members-only, banned, nick conflict, max users, locked, nonexistent)

    public enum JoinError: Error, Sendable, Equatable {
        case nickConflict
        case passwordRequired
        case membersOnly
        case banned
        case roomFull
        /// item-not-found: the room is locked (being created by someone) or gone.
        case roomLocked
        /// not-allowed: the room does not exist and we may not create it.
        case creationRestricted
        /// jid-malformed: the join carried no nickname.
        case nickRequired
        case other(condition: String, text: String?)

        /// One line for the user; `text` in `.other` is the server's and still needs sanitising.
        public var message: String {
            switch self {
            case .nickConflict: "that nickname is taken in this room: choose another with --nick"
            case .passwordRequired: "the room needs a password, and none or a wrong one was given: use --password-file"
            case .membersOnly: "the room is members-only and you are not on its member list"
            case .banned: "you are banned from this room"
            case .roomFull: "the room is full (it has reached its maximum number of occupants)"
            case .roomLocked: "the room does not exist, or is locked while its creator sets it up"
            case .creationRestricted: "the room does not exist and this service does not let you create it"
            case .nickRequired: "the service needs a nickname to join: use --nick"
            case .other(let condition, let text):
                "could not join the room: \(condition)" + (text.map { " (\($0))" } ?? "")
            }
        }
    }

    /// The reason a join failed, from a `type='error'` presence; nil for any other presence.
    public static func joinError(_ presence: Element) -> JoinError? {
        guard presence.matches("presence", NS.client), presence["type"] == "error" else { return nil }
        let error = presence.child("error", namespace: NS.client).map(StanzaError.init)
            ?? StanzaError(type: "cancel", condition: "undefined-condition")
        switch error.condition {
        case "conflict": return .nickConflict
        case "not-authorized": return .passwordRequired
        case "registration-required": return .membersOnly
        case "forbidden": return .banned
        case "service-unavailable": return .roomFull
        case "item-not-found": return .roomLocked
        case "not-allowed": return .creationRestricted
        case "jid-malformed": return .nickRequired
        default: return .other(condition: error.condition, text: error.text)
        }
    }

    /// Picks another nick after a conflict: attempt 1 is `nick`, then `nick_2`, `nick_3`, …, trimmed
    /// (whole characters) so the result fits a JID resourcepart (1023 bytes).
    public static func nickWithSuffix(_ nick: String, attempt: Int) -> String {
        let suffix = attempt <= 1 ? "" : "_\(attempt)"
        var base = nick
        while !base.isEmpty, base.utf8.count + suffix.utf8.count > JID.maximumPartBytes {
            base.removeLast()
        }
        return base + suffix
    }

    // MARK: - Owner and moderator requests (§10.1.2, §8.1, §8.2, §9.1)

    /// Accepts the default configuration of a room we just created (201), which unlocks it.
    public static func instantRoomRequest(room: JID, id: String) -> Element {
        let form = Element("x", namespace: NS.dataForms, attributes: ["type": "submit"])
        return IQ.request(.set, id: id, to: room.bare, payload: Element("query", namespace: NS.mucOwner, elements: [form]))
    }

    /// §10.2: asks for the room's configuration form (owners only).
    public static func configurationRequest(room: JID, id: String) -> Element {
        IQ.request(.get, id: id, to: room.bare, payload: Element("query", namespace: NS.mucOwner))
    }

    /// §10.2: the form of the room's answer to `configurationRequest`.
    public static func configurationForm(in reply: Element) -> DataForm? {
        reply.child("query", namespace: NS.mucOwner)?.child("x", namespace: NS.dataForms).flatMap(DataForm.init)
    }

    /// §10.2: submits `form` with `changes` (variable → values); every other field keeps its value.
    public static func configurationSubmission(room: JID, form: DataForm, changes: [String: [String]], id: String) -> Element {
        IQ.request(.set, id: id, to: room.bare, payload: Element("query", namespace: NS.mucOwner, elements: [form.submission(changes)]))
    }

    /// The form field a user means by `name`: its variable, or the short name after the
    /// `muc#roomconfig_` prefix (`roomname`, `persistentroom`, …).
    public static func configurationField(_ name: String, in form: DataForm) -> DataForm.Field? {
        form.fields.first { $0.variable == name } ?? form.fields.first { $0.variable == "muc#roomconfig_" + name }
    }

    /// Sets the subject; an empty string clears it.
    public static func subjectChange(room: JID, subject: String, id: String) -> Element {
        Element(
            "message", namespace: NS.client,
            attributes: ["to": room.bare.description, "type": "groupchat", "id": id],
            elements: [clientText("subject", subject)])
    }

    /// The room subject a groupchat message announces: nil when it is not a subject message (no
    /// `<subject/>`, or it also has a `<body/>`, which makes it an ordinary message); `""` when cleared.
    public static func subject(of message: Element) -> String?? {
        guard message.matches("message", NS.client), message["type"] == "groupchat",
              message.child("body", namespace: NS.client) == nil,
              let subject = message.child("subject", namespace: NS.client)
        else { return nil }
        return .some(subject.text)
    }

    /// Kicks an occupant by nick (role none).
    public static func kickRequest(room: JID, nick: String, reason: String?, id: String) -> Element {
        adminRequest(room: room, item: ["nick": nick, "role": Role.none.rawValue], reason: reason, id: id)
    }

    /// Bans a user by bare JID (affiliation outcast); bans apply to the account, not one nick.
    public static func banRequest(room: JID, jid: JID, reason: String?, id: String) -> Element {
        adminRequest(
            room: room, item: ["affiliation": Affiliation.outcast.rawValue, "jid": jid.bare.description],
            reason: reason, id: id)
    }

    private static func adminRequest(room: JID, item attributes: [String: String], reason: String?, id: String) -> Element {
        let reasonElements = reason.map { [Element("reason", namespace: NS.mucAdmin, elements: [], text: $0)] } ?? []
        let item = Element("item", namespace: NS.mucAdmin, attributes: attributes, elements: reasonElements)
        return IQ.request(.set, id: id, to: room.bare, payload: Element("query", namespace: NS.mucAdmin, elements: [item]))
    }

    // MARK: - Mediated invitations (§7.8.2)

    public struct MediatedInvite: Sendable, Equatable {
        public var room: JID
        /// Who invited us, as the room reports it.
        public var from: JID?
        public var reason: String?
        public var password: String?
    }

    /// An invitation relayed by a room. The room is the message's `from`, which must be a bare room
    /// JID: an occupant's private message (room/nick) could otherwise pass off a forged `invite from`.
    public static func mediatedInvite(in message: Element) -> MediatedInvite? {
        guard message.matches("message", NS.client),
              message["type"] != "error", message["type"] != "groupchat",
              let room = message["from"].flatMap(JID.init(validating:)), isRoomJID(room),
              let x = message.child("x", namespace: NS.mucUser),
              let invite = x.child("invite", namespace: NS.mucUser)
        else { return nil }
        return MediatedInvite(
            room: room,
            from: invite["from"].flatMap(JID.init(validating:)),
            reason: nonEmpty(invite.childText("reason", namespace: NS.mucUser)),
            password: nonEmpty(x.childText("password", namespace: NS.mucUser)))
    }

    /// Asks the room to invite `invitee` on our behalf.
    public static func mediatedInviteMessage(room: JID, invitee: JID, reason: String?, id: String) -> Element {
        let reasonElements = reason.map { [Element("reason", namespace: NS.mucUser, elements: [], text: $0)] } ?? []
        let invite = Element("invite", namespace: NS.mucUser, attributes: ["to": invitee.description], elements: reasonElements)
        return Element(
            "message", namespace: NS.client, attributes: ["to": room.bare.description, "id": id],
            elements: [Element("x", namespace: NS.mucUser, elements: [invite])])
    }

    // MARK: - Room messages (§7.4, with XEP-0359, XEP-0203 and XEP-0280 hygiene)

    public struct RoomMessage: Sendable, Equatable {
        public var room: JID
        /// The sender's nick; nil for messages from the room itself.
        public var nick: String?
        public var body: String?
        public var id: String?
        /// XEP-0359 stanza-id stamped by the room (`by` = room bare JID); anyone else's is ignored.
        /// Use it for dedup only if the room advertises `urn:xmpp:sid:0` (DESIGN §6).
        public var stanzaID: String?
        public var originID: String?
        /// XEP-0203 delay: set on history the room replays.
        public var delay: Date?
        /// See `MUC.subject(of:)`.
        public var subject: String??
        /// The message carries a carbons `<received/>`/`<sent/>` wrapper, which a room can only relay
        /// from a participant: the caller drops the message (converse.js #1704).
        public var carriesCarbon: Bool
    }

    public static func isRoomMessage(_ message: Element) -> Bool { roomMessage(message) != nil }

    /// A `type='groupchat'` message from a room (bare) or one of its occupants (room/nick).
    public static func roomMessage(_ message: Element) -> RoomMessage? {
        guard message.matches("message", NS.client), message["type"] == "groupchat",
              let from = message["from"].flatMap(JID.init(validating:)), from.local != nil
        else { return nil }
        let room = from.bare
        return RoomMessage(
            room: room,
            nick: from.resource,
            body: message.childText("body", namespace: NS.client),
            id: message["id"],
            stanzaID: StanzaID.stanzaID(of: message, by: room),
            originID: StanzaID.originID(of: message),
            delay: Delay.timestamp(of: message),
            subject: subject(of: message),
            carriesCarbon: message.elements.contains {
                $0.namespace == NS.carbons && ($0.name == "received" || $0.name == "sent")
            })
    }

    // MARK: - Room disco (§6.4) and mentions

    /// Feature vars of a disco#info `<query/>` (or of the iq result wrapping one).
    public static func features(fromInfo query: Element) -> Set<String> {
        let info = query.matches("query", NS.discoInfo) ? query : query.child("query", namespace: NS.discoInfo)
        return Set(info?.children("feature", namespace: NS.discoInfo).compactMap { $0["var"] } ?? [])
    }

    /// The room keeps a XEP-0313 archive we can catch up from.
    public static func isRoomArchived(info: Element) -> Bool {
        features(fromInfo: info).contains(NS.mam)
    }

    public static func isPasswordProtected(info: Element) -> Bool {
        features(fromInfo: info).contains("muc_passwordprotected")
    }

    /// Whether `body` mentions `nick`: case-insensitive, as a whole word. The neighbours of a match must
    /// be the ends of the text or characters that are neither letters, digits nor `_` — `_` counts as
    /// part of a word so that `bob` is not pinged by talk about `bob_2` (see `nickWithSuffix`).
    public static func mentions(nick: String, in body: String) -> Bool {
        let needle = Array(nick.lowercased())
        let text = Array(body.lowercased())
        guard !needle.isEmpty, needle.count <= text.count else { return false }
        func isWordCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }
        // Knuth–Morris–Pratt, so a hostile body cannot make this quadratic.
        var failure = [0]
        failure.reserveCapacity(needle.count)
        var k = 0
        for i in 1..<needle.count {
            while k > 0 && needle[i] != needle[k] { k = failure[k - 1] }
            if needle[i] == needle[k] { k += 1 }
            failure.append(k)
        }
        var matched = 0
        for (i, c) in text.enumerated() {
            while matched > 0 && c != needle[matched] { matched = failure[matched - 1] }
            if c == needle[matched] { matched += 1 }
            if matched == needle.count {
                let start = i - needle.count + 1
                let beforeOK = start == 0 || !isWordCharacter(text[start - 1])
                let afterOK = i + 1 == text.count || !isWordCharacter(text[i + 1])
                if beforeOK && afterOK { return true }
                matched = failure[matched - 1]
            }
        }
        return false
    }

    // MARK: - Helpers

    /// A room's address: room@service, no resource.
    public static func isRoomJID(_ jid: JID) -> Bool { jid.local != nil && jid.resource == nil }

    private static func clientText(_ name: String, _ text: String) -> Element {
        Element(name, namespace: NS.client, elements: [], text: text)
    }

    private static func nonEmpty(_ text: String?) -> String? {
        guard let text, !text.isEmpty else { return nil }
        return text
    }
}
