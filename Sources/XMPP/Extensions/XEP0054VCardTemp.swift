/// XEP-0054: vcard-temp (`vcard-temp`), fetching a contact's vCard and editing our own.
///
/// A vcard-temp set replaces the whole vCard, so editing one field starts from the stored
/// element and keeps every child we do not understand (PHOTO, ADR, …).
import Foundation

public enum VCardTemp {
    public static let namespace = "vcard-temp"

    public static func getRequest(id: String, to: JID?) -> Element {
        IQ.request(.get, id: id, to: to, payload: Element("vCard", namespace: namespace))
    }

    public static func setRequest(id: String, vCard: Element) -> Element {
        IQ.request(.set, id: id, payload: vCard)
    }

    /// The vCard element of a result; an empty result (no vCard stored) counts as an empty one.
    public static func vCardElement(inResult result: Element) -> Element {
        result.child("vCard", namespace: namespace) ?? Element("vCard", namespace: namespace)
    }

    /// The fields tern shows, read from a `<vCard/>` element.
    public static func parse(_ vCard: Element) -> VCard {
        var card = VCard()
        func put(_ field: VCard.Field, _ value: String?) {
            guard let value = value?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty,
                card[field] == nil else { return }
            card[field] = value
        }
        put(.fullName, vCard.childText("FN", namespace: namespace))
        if let n = vCard.child("N", namespace: namespace) {
            put(.givenName, n.childText("GIVEN", namespace: namespace))
            put(.familyName, n.childText("FAMILY", namespace: namespace))
        }
        put(.nickname, vCard.childText("NICKNAME", namespace: namespace))
        for email in vCard.children("EMAIL", namespace: namespace) {
            put(.email, email.childText("USERID", namespace: namespace))
        }
        put(.url, vCard.childText("URL", namespace: namespace))
        put(.note, vCard.childText("NOTE", namespace: namespace))
        put(.note, vCard.childText("DESC", namespace: namespace))
        put(.organization, vCard.child("ORG", namespace: namespace)?.childText("ORGNAME", namespace: namespace))
        put(.title, vCard.childText("TITLE", namespace: namespace))
        put(.role, vCard.childText("ROLE", namespace: namespace))
        for tel in vCard.children("TEL", namespace: namespace) {
            put(.telephone, tel.childText("NUMBER", namespace: namespace))
        }
        put(.birthday, vCard.childText("BDAY", namespace: namespace))
        return card
    }

    /// `vCard` with one field set (nil or empty removes it); everything else is kept.
    public static func updating(_ vCard: Element, _ field: VCard.Field, to value: String?) -> Element {
        let ns = namespace
        func text(_ name: String, _ text: String) -> Element { Element(name, namespace: ns, elements: [], text: text) }
        let value = value.flatMap { $0.isEmpty ? nil : $0 }
        var replaced: Element?
        var drop: (Element) -> Bool
        switch field {
        case .fullName: drop = { $0.name == "FN" }; replaced = value.map { text("FN", $0) }
        case .nickname: drop = { $0.name == "NICKNAME" }; replaced = value.map { text("NICKNAME", $0) }
        case .url: drop = { $0.name == "URL" }; replaced = value.map { text("URL", $0) }
        case .note: drop = { $0.name == "NOTE" || $0.name == "DESC" }; replaced = value.map { text("DESC", $0) }
        case .title: drop = { $0.name == "TITLE" }; replaced = value.map { text("TITLE", $0) }
        case .role: drop = { $0.name == "ROLE" }; replaced = value.map { text("ROLE", $0) }
        case .birthday: drop = { $0.name == "BDAY" }; replaced = value.map { text("BDAY", $0) }
        case .email:
            drop = { $0.name == "EMAIL" }
            replaced = value.map { Element("EMAIL", namespace: ns, elements: [Element("INTERNET", namespace: ns), text("USERID", $0)]) }
        case .telephone:
            drop = { $0.name == "TEL" }
            replaced = value.map { Element("TEL", namespace: ns, elements: [Element("VOICE", namespace: ns), text("NUMBER", $0)]) }
        case .organization:
            drop = { $0.name == "ORG" }
            replaced = value.map { Element("ORG", namespace: ns, elements: [text("ORGNAME", $0)]) }
        case .givenName, .familyName:
            // N is one element with parts: rebuild it, keeping the other parts.
            let old = vCard.child("N", namespace: ns)
            let part = field == .givenName ? "GIVEN" : "FAMILY"
            var parts = (old?.elements ?? []).filter { $0.name != part }
            if let value { parts.append(text(part, value)) }
            drop = { $0.name == "N" }
            replaced = parts.isEmpty ? nil : Element("N", namespace: ns, elements: parts)
        }
        var children = vCard.children.filter {
            guard case .element(let child) = $0 else { return false }  // whitespace between children is noise
            return !(child.namespace == ns && drop(child))
        }
        if let replaced { children.append(.element(replaced)) }
        return Element("vCard", namespace: ns, attributes: vCard.attributes, children: children)
    }
}

/// The vCard fields tern reads and edits, from vcard-temp or vCard4 alike.
public struct VCard: Sendable, Equatable, Codable {
    public enum Field: String, Sendable, CaseIterable, Codable {
        case fullName = "fn"
        case givenName = "given"
        case familyName = "family"
        case nickname
        case email
        case telephone = "tel"
        case url
        case organization = "org"
        case title
        case role
        case birthday = "bday"
        case note

        /// The label shown by `tern info`.
        public var label: String {
            switch self {
            case .fullName: "name"
            case .givenName: "given name"
            case .familyName: "family name"
            case .nickname: "nickname"
            case .email: "email"
            case .telephone: "phone"
            case .url: "url"
            case .organization: "organisation"
            case .title: "title"
            case .role: "role"
            case .birthday: "birthday"
            case .note: "about"
            }
        }
    }

    public private(set) var fields: [String: String] = [:]

    public init() {}

    public subscript(field: Field) -> String? {
        get { fields[field.rawValue] }
        set { fields[field.rawValue] = newValue }
    }

    public var isEmpty: Bool { fields.isEmpty }

    /// Present fields in display order.
    public var entries: [(field: Field, value: String)] {
        Field.allCases.compactMap { field in self[field].map { (field, $0) } }
    }
}
