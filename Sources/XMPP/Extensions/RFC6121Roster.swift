/// RFC 6121 §2: roster management (`jabber:iq:roster`), with roster versioning (§2.6, XEP-0237).
///
/// Pure builders and parsers; the sync engine decides what to store. A push is trusted only
/// from our own account (§2.1.6): anyone else's is the CVE-2015-8688 class of spoofing.
public enum Roster {
    /// The stream feature a server announces when it supports versioning (§2.6.1).
    public static let versioningFeature = "urn:xmpp:features:rosterver"

    public enum Subscription: String, Sendable, CaseIterable {
        case none, to, from, both, remove
    }

    /// One `<item/>` (§2.1.2).
    public struct Item: Sendable, Equatable {
        public var jid: JID
        public var name: String?
        public var subscription: Subscription
        /// `ask='subscribe'`: our request is pending.
        public var ask: Bool
        public var approved: Bool
        public var groups: [String]

        public init(jid: JID, name: String? = nil, subscription: Subscription = .none, ask: Bool = false, approved: Bool = false, groups: [String] = []) {
            self.jid = jid
            self.name = name
            self.subscription = subscription
            self.ask = ask
            self.approved = approved
            self.groups = groups
        }

        /// nil for an item without a valid JID, which the RFC says to ignore.
        public init?(_ element: Element) {
            guard element.matches("item", NS.roster), let jid = element["jid"].flatMap({ JID(validating: $0) }) else {
                return nil
            }
            self.jid = jid.bare
            name = element["name"].flatMap { $0.isEmpty ? nil : $0 }
            subscription = element["subscription"].flatMap(Subscription.init(rawValue:)) ?? .none
            ask = element["ask"] == "subscribe"
            approved = element["approved"] == "true" || element["approved"] == "1"
            var seen = Set<String>()
            groups = element.children("group", namespace: NS.roster).map(\.text).filter { !$0.isEmpty && seen.insert($0).inserted }
        }
    }

    /// A roster get; `version` is sent only when the server announced versioning (§2.6.2).
    public static func get(id: String, version: String?) -> Element {
        var attributes: [String: String] = [:]
        if let version { attributes["ver"] = version }
        return IQ.request(.get, id: id, payload: Element("query", namespace: NS.roster, attributes: attributes))
    }

    public enum FetchResult: Sendable, Equatable {
        /// An empty result: our version is current and changes, if any, follow as pushes (§2.6.3).
        case unchanged
        case full(items: [Item], version: String?)
    }

    /// Reads the result of `get`.
    public static func fetchResult(_ iq: Element) -> FetchResult {
        guard let query = iq.child("query", namespace: NS.roster) else { return .unchanged }
        return .full(items: query.children("item", namespace: NS.roster).compactMap(Item.init), version: query["ver"])
    }

    /// A roster set addressed to us (§2.1.6), which we must validate before applying.
    public static func isPush(_ element: Element) -> Bool {
        guard element.matches("iq", NS.client), element["type"] == "set" else { return false }
        return element.child("query", namespace: NS.roster) != nil
    }

    public struct Push: Sendable, Equatable {
        public var item: Item
        public var version: String?
    }

    public enum PushVerdict: Sendable, Equatable {
        /// Apply it, then send `reply` (an empty result).
        case apply(Push, reply: Element)
        /// Change nothing; send `reply` (an error).
        case refuse(reply: Element)
    }

    /// Whether a push may be applied: no `from`, or `from` our bare JID, and exactly one item.
    public static func verdict(on element: Element, ourJID: JID) -> PushVerdict? {
        guard isPush(element), let iq = IQ(element), let query = element.child("query", namespace: NS.roster) else { return nil }
        if let from = element["from"] {
            guard let sender = JID(validating: from), sender == ourJID.bare else {
                return .refuse(reply: iq.errorReply("service-unavailable"))
            }
        }
        let items = query.children("item", namespace: NS.roster)
        guard items.count == 1, let item = Item(items[0]) else {
            return .refuse(reply: iq.errorReply("bad-request", type: "modify"))
        }
        return .apply(Push(item: item, version: query["ver"]), reply: iq.result())
    }

    /// Adds or updates an item (§2.3): name and groups as given.
    public static func set(id: String, jid: JID, name: String?, groups: [String]) -> Element {
        var attributes = ["jid": jid.bare.description]
        if let name, !name.isEmpty { attributes["name"] = name }
        let item = Element(
            "item", namespace: NS.roster, attributes: attributes,
            elements: groups.map { Element("group", namespace: NS.roster, elements: [], text: $0) })
        return IQ.request(.set, id: id, payload: Element("query", namespace: NS.roster, elements: [item]))
    }

    /// Deletes an item (§2.5); the server also cancels the subscriptions both ways.
    public static func remove(id: String, jid: JID) -> Element {
        let item = Element("item", namespace: NS.roster, attributes: ["jid": jid.bare.description, "subscription": "remove"])
        return IQ.request(.set, id: id, payload: Element("query", namespace: NS.roster, elements: [item]))
    }
}
