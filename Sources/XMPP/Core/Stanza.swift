/// Typed views of the three stanza kinds of RFC 6120 §8: message, presence and iq.
///
/// Each view wraps the immutable `Element` it came from, so nothing is lost when a
/// stanza is stored, forwarded or answered; XEP payloads are accessors in extensions.
public enum Stanza: Sendable {
    case message(Message)
    case presence(Presence)
    case iq(IQ)
    case other(Element)

    public init(_ element: Element) {
        guard element.namespace == NS.client else {
            self = .other(element)
            return
        }
        switch element.name {
        case "message": self = .message(Message(element))
        case "presence": self = .presence(Presence(element))
        case "iq":
            if let iq = IQ(element) { self = .iq(iq) } else { self = .other(element) }
        default: self = .other(element)
        }
    }

    /// Whether XEP-0198 counts it: only message, presence and iq in the client namespace.
    public static func isCountable(_ element: Element) -> Bool {
        element.namespace == NS.client && ["message", "presence", "iq"].contains(element.name)
    }
}

/// Attributes every stanza has (RFC 6120 §8.1).
public protocol StanzaView: Sendable {
    var element: Element { get }
}

extension StanzaView {
    public var id: String? { element["id"] }
    /// The sender, or nil when absent or not a valid JID (an invalid `from` is never trusted).
    public var from: JID? { element["from"].flatMap { try? JID($0) } }
    public var to: JID? { element["to"].flatMap { try? JID($0) } }
    public var rawFrom: String? { element["from"] }
    /// The stanza error (RFC 6120 §8.3) when type is error.
    public var error: StanzaError? { element.child("error", namespace: NS.client).map(StanzaError.init) }
}

public struct Message: StanzaView {
    public let element: Element

    public enum Kind: String, Sendable { case chat, groupchat, headline, normal, error }

    public init(_ element: Element) { self.element = element }

    public var kind: Kind { element["type"].flatMap(Kind.init(rawValue:)) ?? .normal }
    public var body: String? { element.childText("body", namespace: NS.client) }
    public var thread: String? { element.childText("thread", namespace: NS.client) }

    public static func chat(to: JID, body: String, id: String, kind: Kind = .chat, extra: [Element] = []) -> Message {
        Message(Element(
            "message", namespace: NS.client,
            attributes: ["to": to.description, "type": kind.rawValue, "id": id],
            elements: [Element("body", namespace: NS.client, elements: [], text: body)] + extra))
    }
}

public struct Presence: StanzaView {
    public let element: Element

    public enum Show: String, Sendable, CaseIterable { case chat, away, xa, dnd }

    public init(_ element: Element) { self.element = element }

    /// nil for available presence; "unavailable", "subscribe", … otherwise.
    public var type: String? { element["type"] }
    public var show: Show? { element.childText("show", namespace: NS.client).flatMap(Show.init(rawValue:)) }
    public var status: String? { element.childText("status", namespace: NS.client) }
    public var priority: Int { element.childText("priority", namespace: NS.client).flatMap(Int.init) ?? 0 }

    public static func available(show: Show? = nil, status: String? = nil, priority: Int = 0) -> Presence {
        var children: [Element] = []
        if let show { children.append(Element("show", namespace: NS.client, elements: [], text: show.rawValue)) }
        if let status, !status.isEmpty {
            children.append(Element("status", namespace: NS.client, elements: [], text: status))
        }
        if priority != 0 {
            children.append(Element("priority", namespace: NS.client, elements: [], text: String(priority)))
        }
        return Presence(Element("presence", namespace: NS.client, elements: children))
    }

    public static var unavailable: Presence {
        Presence(Element("presence", namespace: NS.client, attributes: ["type": "unavailable"]))
    }
}

public struct IQ: StanzaView {
    public let element: Element

    public enum Kind: String, Sendable { case get, set, result, error }

    public let kind: Kind

    /// nil when the type attribute is missing or unknown: such an iq is not well-formed XMPP.
    public init?(_ element: Element) {
        guard let kind = element["type"].flatMap(Kind.init(rawValue:)) else { return nil }
        self.element = element
        self.kind = kind
    }

    /// The single payload child of a get or set (RFC 6120 §8.2.3).
    public var payload: Element? { element.elements.first { $0.name != "error" } }

    public static func request(_ kind: Kind, id: String, to: JID? = nil, payload: Element) -> Element {
        var attributes = ["type": kind.rawValue, "id": id]
        if let to { attributes["to"] = to.description }
        return Element("iq", namespace: NS.client, attributes: attributes, elements: [payload])
    }

    /// A result addressed back to the requester.
    public func result(payload: Element? = nil) -> Element {
        var attributes = ["type": "result", "id": id ?? ""]
        if let from = rawFrom { attributes["to"] = from }
        return Element("iq", namespace: NS.client, attributes: attributes, elements: payload.map { [$0] } ?? [])
    }

    /// An error reply with a defined condition (RFC 6120 §8.3.3).
    public func errorReply(_ condition: String, type: String = "cancel") -> Element {
        var attributes = ["type": "error", "id": id ?? ""]
        if let from = rawFrom { attributes["to"] = from }
        let error = Element(
            "error", namespace: NS.client, attributes: ["type": type],
            elements: [Element(condition, namespace: NS.stanzas)])
        return Element("iq", namespace: NS.client, attributes: attributes, elements: [error])
    }
}

/// A stanza-level error: its type and defined condition (RFC 6120 §8.3).
public struct StanzaError: Sendable, Error, Equatable, CustomStringConvertible {
    public let type: String
    public let condition: String
    public let text: String?

    public init(_ element: Element) {
        type = element["type"] ?? "cancel"
        condition = element.elements.first { $0.namespace == NS.stanzas && $0.name != "text" }?.name ?? "undefined-condition"
        text = element.childText("text", namespace: NS.stanzas)
    }

    public init(type: String, condition: String, text: String? = nil) {
        self.type = type
        self.condition = condition
        self.text = text
    }

    public var description: String {
        text.map { "\(condition): \($0)" } ?? condition
    }
}
