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
    /// A depth-1 element that crossed a per-stanza limit and was skipped; the stream goes on.
    case dropped(DroppedStanza)
}

/// A stanza skipped for crossing a per-stanza limit (DESIGN §6): what any peer can put in a
/// stanza the server relays must never cost the stream, so it is dropped, not fatal.
public struct DroppedStanza: Sendable, Equatable {
    /// Its qualified name as written (`message`, `stream:error`), at most 63 bytes.
    public var name: String
    /// What was parsed before the limit: its own attributes and the children begun by then
    /// (an element still open holds only what was read of it). Nil when the limit fell
    /// inside its own start tag.
    public var partial: Element?
    /// Which limit, for people and logs.
    public var reason: String

    public init(name: String, partial: Element?, reason: String) {
        self.name = name
        self.partial = partial
        self.reason = reason
    }

    /// Whether it counts for XEP-0198 `h` (RFC 6120 §8 stanzas). Without a start tag to go
    /// on, an unprefixed name on a `jabber:client` stream is one.
    public var isStanza: Bool {
        if let partial { return Stanza.isCountable(partial) }
        return ["message", "presence", "iq"].contains(name)
    }
}

/// Fatal stream-level parse failures, each named after the stream error
/// condition (RFC 6120 §4.9.3) we answer it with before closing.
public enum XMLStreamError: Error, Equatable, Sendable {
    /// §4.9.3.13: malformed XML, bad UTF-8, unbound prefix, wrong root element.
    case notWellFormed(String)
    /// §4.9.3.18 / §11.1: a DTD, comment, processing instruction or a
    /// non-predefined entity reference.
    case restrictedXML(String)
    /// §4.9.3.14: a stream-level cap was exceeded (the header's size or attributes, a
    /// dropped stanza beyond the hard cap). Per-stanza caps drop the stanza instead.
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
