/// XEP-0012: Last Activity (`jabber:iq:last`), asking a contact and answering for ourselves.
///
/// Sent to a full JID the answer is idle time; to a bare JID, time since the last logout
/// (§3–§4). Both come back as seconds, with an optional status text.
public struct LastActivity: Sendable, Equatable {
    public static let namespace = "jabber:iq:last"

    public var seconds: Int
    public var status: String?

    public init(seconds: Int, status: String? = nil) {
        self.seconds = seconds
        self.status = status
    }

    public static func request(id: String, to: JID) -> Element {
        IQ.request(.get, id: id, to: to, payload: Element("query", namespace: namespace))
    }

    public static func isQuery(_ iq: IQ) -> Bool {
        iq.kind == .get && iq.payload?.matches("query", namespace) == true
    }

    /// nil when the result has no query or a `seconds` that is not a non-negative integer.
    public init?(result: Element) {
        guard let query = result.child("query", namespace: Self.namespace),
            let seconds = query["seconds"].flatMap(Int.init), seconds >= 0
        else { return nil }
        self.seconds = seconds
        let text = query.text
        status = text.isEmpty ? nil : text
    }

    public func answer(_ iq: IQ) -> Element {
        iq.result(payload: Element(
            "query", namespace: Self.namespace, attributes: ["seconds": String(seconds)], elements: [], text: status))
    }
}
