/// XEP-0402: PEP Native Bookmarks (`urn:xmpp:bookmarks:1`) §3: one PEP item per room, published with
/// private publish-options, retracted to remove, pushed to our clients as notifications; `#compat`.
///
/// Notifications are `<message/>` stanzas, so anyone can forge one: only our own account (no `from`,
/// or exactly our bare JID) may tell us that bookmarks changed, or a stranger could make us autojoin.
public enum Bookmarks {
    /// Listed on our account's disco#info when the server keeps these and XEP-0048 in step.
    public static let compatFeature = "urn:xmpp:bookmarks:1#compat"
    /// Our caps feature asking for change notifications (XEP-0163 `+notify`).
    public static let notifyFeature = "urn:xmpp:bookmarks:1+notify"

    public struct Bookmark: Sendable, Equatable {
        /// Always bare: it is the item id.
        public var room: JID
        public var name: String?
        public var autojoin: Bool
        public var nick: String?
        /// Stored in clear on the server; XEP-0402 allows it but it is not a secret store.
        public var password: String?
        /// `<extensions/>` from other clients, republished untouched as the XEP asks.
        public var extensions: Element?

        public init(
            room: JID, name: String? = nil, autojoin: Bool = false, nick: String? = nil,
            password: String? = nil, extensions: Element? = nil
        ) {
            self.room = room.bare
            self.name = name
            self.autojoin = autojoin
            self.nick = nick
            self.password = password
            self.extensions = extensions
        }

        /// The `<conference/>` payload.
        public var conference: Element {
            var attributes = ["autojoin": autojoin ? "true" : "false"]
            if let name { attributes["name"] = name }
            var children: [Element] = []
            if let nick { children.append(Element("nick", namespace: NS.bookmarks, elements: [], text: nick)) }
            if let password { children.append(Element("password", namespace: NS.bookmarks, elements: [], text: password)) }
            if let extensions { children.append(extensions) }
            return Element("conference", namespace: NS.bookmarks, attributes: attributes, elements: children)
        }

        /// Parses an `<item/>` of the bookmarks node; nil unless its id is a room JID and it holds a conference.
        init?(item: Element) {
            guard let room = item["id"].flatMap(JID.init(validating:)), MUC.isRoomJID(room),
                  let conference = item.child("conference", namespace: NS.bookmarks)
            else { return nil }
            let autojoin = conference["autojoin"]
            self.init(
                room: room,
                name: conference["name"].flatMap { $0.isEmpty ? nil : $0 },
                autojoin: autojoin == "true" || autojoin == "1",
                nick: conference.childText("nick", namespace: NS.bookmarks).flatMap { $0.isEmpty ? nil : $0 },
                password: conference.childText("password", namespace: NS.bookmarks),
                extensions: conference.child("extensions", namespace: NS.bookmarks))
        }
    }

    /// Adds or replaces `bookmark`, keeping the node private and all its items (§3).
    public static func publishRequest(_ bookmark: Bookmark, id: String) -> Element {
        let item = Element(
            "item", namespace: NS.pubsub, attributes: ["id": bookmark.room.bare.description],
            elements: [bookmark.conference])
        let publish = Element("publish", namespace: NS.pubsub, attributes: ["node": NS.bookmarks], elements: [item])
        let formType = DataForm.Field(variable: "FORM_TYPE", type: .hidden, values: [NS.pubsubPublishOptions])
        let options = DataForm(type: .form, fields: [formType]).submission([
            "pubsub#persist_items": ["true"],
            "pubsub#max_items": ["max"],
            "pubsub#send_last_published_item": ["never"],
            "pubsub#access_model": ["whitelist"],
        ])
        let publishOptions = Element("publish-options", namespace: NS.pubsub, elements: [options])
        return IQ.request(.set, id: id, payload: Element("pubsub", namespace: NS.pubsub, elements: [publish, publishOptions]))
    }

    /// Removes the bookmark for `room`, notifying our other clients.
    public static func retractRequest(room: JID, id: String) -> Element {
        let item = Element("item", namespace: NS.pubsub, attributes: ["id": room.bare.description])
        let retract = Element(
            "retract", namespace: NS.pubsub, attributes: ["node": NS.bookmarks, "notify": "true"], elements: [item])
        return IQ.request(.set, id: id, payload: Element("pubsub", namespace: NS.pubsub, elements: [retract]))
    }

    /// All bookmarks, from our own PEP service (no `to`).
    public static func fetchRequest(id: String) -> Element {
        let items = Element("items", namespace: NS.pubsub, attributes: ["node": NS.bookmarks])
        return IQ.request(.get, id: id, payload: Element("pubsub", namespace: NS.pubsub, elements: [items]))
    }

    /// The bookmarks in a result to `fetchRequest`; malformed items are skipped, not fatal.
    public static func bookmarks(fromItemsResult iq: Element) -> [Bookmark] {
        guard iq.matches("iq", NS.client), iq["type"] == "result",
              let items = iq.child("pubsub", namespace: NS.pubsub)?.child("items", namespace: NS.pubsub),
              items["node"] == NS.bookmarks
        else { return [] }
        return items.children("item", namespace: NS.pubsub).compactMap(Bookmark.init(item:))
    }

    public enum Change: Sendable, Equatable {
        case published(Bookmark)
        case retracted(JID)
    }

    /// The changes a PEP notification carries, in document order; nil when `message` is not a
    /// bookmarks notification or does not come from our own account (`from` absent or exactly our
    /// bare JID). Malformed items inside a trusted notification are skipped.
    public static func changes(inEvent message: Element, ourJID: JID) -> [Change]? {
        guard message.matches("message", NS.client), message["type"] != "error" else { return nil }
        if let rawFrom = message["from"] {
            guard let from = JID(validating: rawFrom), from == ourJID.bare else { return nil }
        }
        guard let items = message.child("event", namespace: NS.pubsubEvent)?.child("items", namespace: NS.pubsubEvent),
              items["node"] == NS.bookmarks
        else { return nil }
        return items.elements.compactMap { element -> Change? in
            guard element.namespace == NS.pubsubEvent else { return nil }
            switch element.name {
            case "item":
                return Bookmark(item: element).map(Change.published)
            case "retract":
                guard let room = element["id"].flatMap(JID.init(validating:)), MUC.isRoomJID(room) else { return nil }
                return .retracted(room)
            default:
                return nil
            }
        }
    }

    /// Whether our account's disco#info says the server supports this specification (`#compat`).
    public static func isSupported(accountInfo: Element) -> Bool {
        MUC.features(fromInfo: accountInfo).contains(compatFeature)
    }
}
