/// XEP-0280: Message Carbons (`urn:xmpp:carbons:2`) §3–§7 and §11: enabling, and trusting copies.
///
/// A copy is a `<message/>` wrapping another one (XEP-0297 `<forwarded/>`), so anyone who can
/// reach us can dress a message up as one. §11 puts every resource of the account inside one
/// trust boundary and nothing else: a copy counts only when its `from` is exactly our bare JID
/// (CVE-2017-5589 class). Whatever claims to be a copy and fails that is dropped whole, never
/// read as an ordinary message either.
public enum Carbons {
    /// What we ask of the server once per session (§4); the reply is a result or a stanza error.
    public static func enableRequest(id: String) -> Element {
        IQ.request(.set, id: id, payload: Element("enable", namespace: NS.carbons))
    }

    /// Whether a disco#info `<query/>` from our server lists carbons (§3).
    public static func isOffered(byServerInfo query: Element) -> Bool {
        query.children("feature", namespace: NS.discoInfo).contains { $0["var"] == NS.carbons }
    }

    /// A trusted copy and the original message inside it.
    public enum Copy: Sendable, Equatable {
        /// A message someone sent to our account, delivered to another of its resources (§6).
        case received(Element)
        /// A message another of our resources sent (§7).
        case sent(Element)

        /// The forwarded original.
        public var message: Element {
            switch self {
            case .received(let message), .sent(let message): message
            }
        }
    }

    /// What a received `<message/>` is, as far as carbons go.
    public enum CopyVerdict: Sendable, Equatable {
        /// No `<received/>` or `<sent/>` child: an ordinary message (`<private/>` included).
        case notACarbon
        /// Claims to be a copy but does not come from our bare JID, or comes as groupchat: drop it all.
        case forged
        /// From our account, but nothing to keep: malformed, a room's message, or not about us.
        case ignored
        case copy(Copy)
    }

    /// Classifies `message`; `ourJID` is our bound JID (only its bare part matters).
    public static func copy(in message: Element, ourJID: JID) -> CopyVerdict {
        guard message.matches("message", NS.client) else { return .notACarbon }
        let wrappers = message.elements.filter {
            $0.namespace == NS.carbons && ($0.name == "received" || $0.name == "sent")
        }
        guard let wrapper = wrappers.first else { return .notACarbon }
        let account = ourJID.bare
        // §11: the bare JID exactly. A full JID (another resource, or a peer that shares our
        // name) or the server's domain may not speak for the account.
        guard let from = message["from"].flatMap(JID.init(validating:)), from == account else { return .forged }
        // Servers copy only one-to-one messages; a groupchat wrapper is a room relaying
        // something a participant crafted (converse.js #1704).
        guard message["type"] != "groupchat" else { return .forged }
        guard wrappers.count == 1,
            let forwarded = wrapper.child("forwarded", namespace: NS.forward),
            forwarded.children("message", namespace: NS.client).count == 1,
            let inner = forwarded.child("message", namespace: NS.client)
        else { return .ignored }
        // §5: a room's messages are not carbon material; the room itself is the history.
        guard inner["type"] != "groupchat" else { return .ignored }
        if wrapper.name == "received" {
            // It went to this account (its bare JID or one of its resources), not somewhere else.
            if let to = inner["to"] {
                guard JID(validating: to)?.bare == account else { return .ignored }
            }
            return .copy(.received(inner))
        }
        // One of our resources wrote it, and it names whom it went to.
        if let sender = inner["from"] {
            guard JID(validating: sender)?.bare == account else { return .ignored }
        }
        guard inner["to"].flatMap(JID.init(validating:)) != nil else { return .ignored }
        return .copy(.sent(inner))
    }
}
