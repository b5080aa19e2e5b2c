/// Stream-level errors (RFC 6120 §4.9): parsed from `<stream:error/>` and built for sending.
public struct StreamError: Sendable, Error, Equatable, CustomStringConvertible {
    /// The defined condition, e.g. "conflict", "policy-violation", "see-other-host".
    public let condition: String
    public let text: String?

    public init(condition: String, text: String? = nil) {
        self.condition = condition
        self.text = text
    }

    /// Parses a `<stream:error>` element; unknown content becomes undefined-condition.
    public init(_ element: Element) {
        condition = element.elements.first { $0.namespace == NS.streams && $0.name != "text" }?.name
            ?? "undefined-condition"
        text = element.childText("text", namespace: NS.streams)
    }

    public var element: Element {
        var children = [Element(condition, namespace: NS.streams)]
        if let text { children.append(Element("text", namespace: NS.streams, elements: [], text: text)) }
        return Element("error", namespace: NS.stream, elements: children)
    }

    public var description: String {
        let explanation: String? = switch condition {
        case "conflict": "another client logged in with the same resource"
        case "host-unknown": "the server does not serve this domain"
        case "not-authorized": "not authorised"
        case "policy-violation": "the server refused what we sent (policy violation)"
        case "system-shutdown": "the server is shutting down"
        default: nil
        }
        var line = "stream error: \(condition)"
        if let explanation { line += " (\(explanation))" }
        if let text, !text.isEmpty { line += ": \(text)" }
        return line
    }

    public static func isStreamError(_ element: Element) -> Bool {
        element.matches("error", NS.stream)
    }
}
