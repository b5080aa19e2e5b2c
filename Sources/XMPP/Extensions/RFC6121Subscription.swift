/// RFC 6121 §3: managing presence subscriptions (subscribe, subscribed, unsubscribe, unsubscribed).
///
/// Requests are addressed to bare JIDs (§3.1.1); an incoming one names its sender's bare JID.
public enum Subscription {
    public enum Kind: String, Sendable, CaseIterable {
        case subscribe, subscribed, unsubscribe, unsubscribed
    }

    /// A subscription stanza to `jid`'s bare JID, with an optional message for a request.
    public static func stanza(_ kind: Kind, to jid: JID, status: String? = nil) -> Element {
        var children: [Element] = []
        if kind == .subscribe, let status, !status.isEmpty {
            children.append(Element("status", namespace: NS.client, elements: [], text: status))
        }
        return Element(
            "presence", namespace: NS.client, attributes: ["to": jid.bare.description, "type": kind.rawValue], elements: children)
    }

    /// An incoming subscription stanza: its kind, the sender's bare JID and any message.
    public struct Incoming: Sendable, Equatable {
        public var kind: Kind
        public var from: JID
        public var status: String?
    }

    /// nil unless it is a subscription stanza with a valid sender.
    public static func incoming(_ element: Element) -> Incoming? {
        guard element.matches("presence", NS.client), let kind = element["type"].flatMap(Kind.init(rawValue:)),
            let from = element["from"].flatMap({ JID(validating: $0) })
        else { return nil }
        return Incoming(kind: kind, from: from.bare, status: element.childText("status", namespace: NS.client))
    }
}
