/// XEP-0030: Service Discovery (`http://jabber.org/protocol/disco#info`), answering about ourselves.
public struct DiscoIdentity: Sendable, Hashable {
    public var category: String
    public var type: String
    public var name: String

    public init(category: String, type: String, name: String) {
        self.category = category
        self.type = type
        self.name = name
    }

    /// What tern is: a console client (XEP-0030 registry: client/console).
    public static let tern = DiscoIdentity(category: "client", type: "console", name: "tern")
}

public enum Disco {
    public static func isInfoQuery(_ iq: IQ) -> Bool {
        iq.kind == .get && iq.payload?.matches("query", NS.discoInfo) == true
    }

    /// The disco#info result listing our identity and features; the node is echoed back
    /// so XEP-0115 caps queries (`node#ver`) get the same answer.
    public static func infoResult(for iq: IQ, identity: DiscoIdentity, features: [String]) -> Element {
        var attributes: [String: String] = [:]
        if let node = iq.payload?["node"] { attributes["node"] = node }
        let identityElement = Element(
            "identity", namespace: NS.discoInfo,
            attributes: ["category": identity.category, "type": identity.type, "name": identity.name])
        let featureElements = Set(features + [NS.discoInfo]).sorted().map {
            Element("feature", namespace: NS.discoInfo, attributes: ["var": $0])
        }
        return iq.result(payload: Element(
            "query", namespace: NS.discoInfo, attributes: attributes, elements: [identityElement] + featureElements))
    }
}
