/// An immutable XML element: the unit every stanza is made of (RFC 6120 §4.1).
///
/// Elements are `Sendable` values so they cross actor boundaries freely; there
/// are no mutable class stanzas (tigase/Martin's were data races under Swift 6).
/// `namespace` is the resolved namespace URI, never a prefix.
public struct Element: Sendable, Hashable {
    public let name: String
    public let namespace: String
    public let attributes: [String: String]
    public let children: [Node]

    public enum Node: Sendable, Hashable {
        case element(Element)
        case text(String)
    }

    public init(
        _ name: String,
        namespace: String,
        attributes: [String: String] = [:],
        children: [Node] = []
    ) {
        self.name = name
        self.namespace = namespace
        self.attributes = attributes
        self.children = children
    }

    /// Convenience for building: child elements and an optional text body.
    public init(
        _ name: String,
        namespace: String,
        attributes: [String: String] = [:],
        elements: [Element],
        text: String? = nil
    ) {
        var nodes = elements.map(Node.element)
        if let text { nodes.append(.text(text)) }
        self.init(name, namespace: namespace, attributes: attributes, children: nodes)
    }

    public subscript(attribute: String) -> String? { attributes[attribute] }

    public var elements: [Element] {
        children.compactMap { if case .element(let e) = $0 { e } else { nil } }
    }

    /// The concatenated character data directly inside this element.
    public var text: String {
        children.reduce(into: "") { if case .text(let t) = $1 { $0 += t } }
    }

    public func child(_ name: String, namespace: String? = nil) -> Element? {
        elements.first { $0.name == name && (namespace == nil || $0.namespace == namespace) }
    }

    public func children(_ name: String, namespace: String? = nil) -> [Element] {
        elements.filter { $0.name == name && (namespace == nil || $0.namespace == namespace) }
    }

    public func childText(_ name: String, namespace: String? = nil) -> String? {
        child(name, namespace: namespace)?.text
    }

    public func matches(_ name: String, _ namespace: String) -> Bool {
        self.name == name && self.namespace == namespace
    }

    /// A copy with some attributes replaced (nil removes).
    public func with(attributes changes: [String: String?]) -> Element {
        var attrs = attributes
        for (key, value) in changes { attrs[key] = value }
        return Element(name, namespace: namespace, attributes: attrs, children: children)
    }

    public func appending(_ child: Element) -> Element {
        Element(name, namespace: namespace, attributes: attributes, children: children + [.element(child)])
    }
}
