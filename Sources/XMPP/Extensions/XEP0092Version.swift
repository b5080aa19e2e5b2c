/// XEP-0092: Software Version (`jabber:iq:version`), asking a resource and answering for ourselves.
public struct SoftwareVersion: Sendable, Equatable, Codable {
    public var name: String
    public var version: String
    public var os: String?

    public init(name: String, version: String, os: String? = nil) {
        self.name = name
        self.version = version
        self.os = os
    }

    public static func request(id: String, to: JID) -> Element {
        IQ.request(.get, id: id, to: to, payload: Element("query", namespace: NS.version))
    }

    public static func isQuery(_ iq: IQ) -> Bool {
        iq.kind == .get && iq.payload?.matches("query", NS.version) == true
    }

    /// The version in a result; nil when it names no software (name is required, §2).
    public init?(result: Element) {
        guard let query = result.child("query", namespace: NS.version),
            let name = query.childText("name", namespace: NS.version), !name.isEmpty
        else { return nil }
        self.name = name
        version = query.childText("version", namespace: NS.version) ?? ""
        os = query.childText("os", namespace: NS.version).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Our answer to a query.
    public func answer(_ iq: IQ) -> Element {
        var children = [
            Element("name", namespace: NS.version, elements: [], text: name),
            Element("version", namespace: NS.version, elements: [], text: version),
        ]
        if let os { children.append(Element("os", namespace: NS.version, elements: [], text: os)) }
        return iq.result(payload: Element("query", namespace: NS.version, elements: children))
    }
}
