/// XEP-0191: Blocking Command (`urn:xmpp:blocking`): the blocklist, block/unblock, and pushes.
///
/// Pushes change what we show as blocked, so, like roster pushes (RFC 6121 §2.1.6,
/// CVE-2015-8688 class), they are trusted only from our own account: no `from`, or our bare JID.
public enum Blocking {
    public static let namespace = "urn:xmpp:blocking"

    public enum Push: Sendable, Equatable {
        case block([String])
        /// An empty list unblocks everyone (§3.3).
        case unblock([String])
    }

    public static func listRequest(id: String) -> Element {
        IQ.request(.get, id: id, payload: Element("blocklist", namespace: namespace))
    }

    public static func blockRequest(id: String, jids: [String]) -> Element {
        IQ.request(.set, id: id, payload: Element("block", namespace: namespace, elements: items(jids)))
    }

    /// With no JIDs, unblocks everyone.
    public static func unblockRequest(id: String, jids: [String]) -> Element {
        IQ.request(.set, id: id, payload: Element("unblock", namespace: namespace, elements: items(jids)))
    }

    /// The JIDs in a blocklist result (each normalised; unparsable items are dropped).
    public static func blocklist(inResult result: Element) -> [String] {
        guard let list = result.child("blocklist", namespace: namespace) else { return [] }
        return jids(in: list)
    }

    /// Whether an iq is a block or unblock push (from anyone: `push(_:ourJID:)` decides trust).
    public static func isPush(_ iq: IQ) -> Bool {
        guard iq.kind == .set, let payload = iq.payload, payload.namespace == namespace else { return false }
        return payload.name == "block" || payload.name == "unblock"
    }

    /// The push, when it is one and comes from our own account; nil otherwise.
    public static func push(_ iq: IQ, ourJID: JID) -> Push? {
        guard isPush(iq), let payload = iq.payload else { return nil }
        if let from = iq.rawFrom {
            guard let sender = try? JID(from), sender == ourJID.bare else { return nil }
        }
        let list = jids(in: payload)
        return payload.name == "block" ? .block(list) : .unblock(list)
    }

    private static func items(_ jids: [String]) -> [Element] {
        jids.map { Element("item", namespace: namespace, attributes: ["jid": $0]) }
    }

    private static func jids(in element: Element) -> [String] {
        element.children("item", namespace: namespace).compactMap { item in
            item["jid"].flatMap { try? JID($0) }?.description
        }
    }
}
