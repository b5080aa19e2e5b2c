/// XEP-0292: vCard4 over XMPP (`urn:ietf:params:xml:ns:vcard-4.0`, PEP node `urn:xmpp:vcard4`).
///
/// Used only when the account's server offers PEP (XEP-0163): the vCard is the single item
/// of the contact's `urn:xmpp:vcard4` node. RFC 6351 gives the XML form of each property.
import Foundation

public enum VCard4 {
    public static let namespace = "urn:ietf:params:xml:ns:vcard-4.0"
    public static let node = "urn:xmpp:vcard4"
    public static let pubsub = "http://jabber.org/protocol/pubsub"
    /// What a server doing PEP advertises on the account's bare JID (XEP-0163 §4).
    public static let pepIdentity = (category: "pubsub", type: "pep")

    /// Asks the contact's PEP service for the current vCard item.
    public static func itemsRequest(id: String, to: JID) -> Element {
        IQ.request(.get, id: id, to: to, payload: Element(
            "pubsub", namespace: pubsub,
            elements: [Element("items", namespace: pubsub, attributes: ["node": node, "max_items": "1"])]))
    }

    /// Whether a disco#info result of our own bare JID shows PEP, so vCard4 can be asked for.
    public static func isOffered(byAccountInfo query: Element) -> Bool {
        query.children("identity", namespace: NS.discoInfo).contains {
            $0["category"] == pepIdentity.category && $0["type"] == pepIdentity.type
        }
    }

    /// The `<vcard/>` inside a pubsub items result, if any.
    public static func vCardElement(inResult result: Element) -> Element? {
        result.child("pubsub", namespace: pubsub)?
            .child("items", namespace: pubsub)?
            .children("item", namespace: pubsub).last?
            .child("vcard", namespace: namespace)
    }

    public static func parse(_ vcard: Element) -> VCard {
        var card = VCard()
        func value(_ property: String, _ types: [String]) -> String? {
            for element in vcard.children(property, namespace: namespace) {
                for type in types {
                    if let text = element.childText(type, namespace: namespace)?
                        .trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty
                    {
                        return text
                    }
                }
            }
            return nil
        }
        card[.fullName] = value("fn", ["text"])
        if let n = vcard.child("n", namespace: namespace) {
            card[.givenName] = n.childText("given", namespace: namespace).flatMap { $0.isEmpty ? nil : $0 }
            card[.familyName] = n.childText("surname", namespace: namespace).flatMap { $0.isEmpty ? nil : $0 }
        }
        card[.nickname] = value("nickname", ["text"])
        card[.email] = value("email", ["text"])
        card[.telephone] = value("tel", ["uri", "text"]).map { $0.hasPrefix("tel:") ? String($0.dropFirst(4)) : $0 }
        card[.url] = value("url", ["uri"])
        card[.organization] = value("org", ["text"])
        card[.title] = value("title", ["text"])
        card[.role] = value("role", ["text"])
        card[.birthday] = value("bday", ["date", "text"])
        card[.note] = value("note", ["text"])
        return card
    }

    /// A `<vcard/>` holding the given fields, for publishing.
    public static func build(_ card: VCard) -> Element {
        let ns = namespace
        func property(_ name: String, _ type: String, _ text: String) -> Element {
            Element(name, namespace: ns, elements: [Element(type, namespace: ns, elements: [], text: text)])
        }
        var children: [Element] = []
        for (field, text) in card.entries {
            switch field {
            case .fullName: children.append(property("fn", "text", text))
            case .givenName, .familyName: continue
            case .nickname: children.append(property("nickname", "text", text))
            case .email: children.append(property("email", "text", text))
            case .telephone: children.append(property("tel", "uri", "tel:" + text))
            case .url: children.append(property("url", "uri", text))
            case .organization: children.append(property("org", "text", text))
            case .title: children.append(property("title", "text", text))
            case .role: children.append(property("role", "text", text))
            case .birthday: children.append(property("bday", "date", text))
            case .note: children.append(property("note", "text", text))
            }
        }
        if card[.givenName] != nil || card[.familyName] != nil {
            var parts: [Element] = []
            if let family = card[.familyName] { parts.append(Element("surname", namespace: ns, elements: [], text: family)) }
            if let given = card[.givenName] { parts.append(Element("given", namespace: ns, elements: [], text: given)) }
            children.append(Element("n", namespace: ns, elements: parts))
        }
        return Element("vcard", namespace: ns, elements: children)
    }
}
