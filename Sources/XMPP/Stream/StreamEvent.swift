/// RFC 6120 §4.2–§4.4 and §4.9.3: what an incoming XML stream yields, and how it can fail.
///
/// The stream is one long XML document: its root (`<stream:stream>`) opens it,
/// each complete child of the root is a unit of work (stanza, features, SASL,
/// SM…), and the root's end tag closes it.
public enum StreamEvent: Sendable, Equatable {
    /// The stream header (depth 0): `id`, `from`, `to`, `version`, `xml:lang`…
    /// Namespace declarations are not included.
    case streamOpened(attributes: [String: String])
    /// A complete depth-1 element.
    case element(Element)
    /// `</stream:stream>`.
    case streamClosed
}

/// Fatal stream-level parse failures, each named after the stream error
/// condition (RFC 6120 §4.9.3) we answer it with before closing.
public enum XMLStreamError: Error, Equatable, Sendable {
    /// §4.9.3.13: malformed XML, bad UTF-8, unbound prefix, wrong root element.
    case notWellFormed(String)
    /// §4.9.3.18 / §11.1: a DTD, comment, processing instruction or a
    /// non-predefined entity reference.
    case restrictedXML(String)
    /// §4.9.3.14: a local cap (depth, stanza size, attributes, text) was exceeded.
    case policyViolation(String)

    /// The `urn:ietf:params:xml:ns:xmpp-streams` element name to send.
    public var condition: String {
        switch self {
        case .notWellFormed: "not-well-formed"
        case .restrictedXML: "restricted-xml"
        case .policyViolation: "policy-violation"
        }
    }

    /// The human-readable detail (for logs and the `<text/>` of the error).
    public var detail: String {
        switch self {
        case .notWellFormed(let s), .restrictedXML(let s), .policyViolation(let s): s
        }
    }
}
