/// An immutable XML element: the unit every stanza is made of (RFC 6120 §4.1).
///
/// Elements are `Sendable` values so they cross actor boundaries freely; there
/// are no mutable class stanzas (tigase/Martin's were data races under Swift 6).
/// `namespace` is the resolved namespace URI, never a prefix.
public struct Element: Sendable, Hashable {
    public let name: String
    public let namespace: String
    public let attributes: Attributes
    public let children: [Node]

    public enum Node: Sendable, Hashable {
        case element(Element)
        case text(String)
    }

    public init(
        _ name: String,
        namespace: String,
        attributes: Attributes = [:],
        children: [Node] = []
    ) {
        self.name = name
        self.namespace = namespace
        self.attributes = attributes
        self.children = children
    }

    public init(
        _ name: String,
        namespace: String,
        attributes: [String: String],
        children: [Node] = []
    ) {
        self.init(name, namespace: namespace, attributes: Attributes(attributes), children: children)
    }

    /// Convenience for building: child elements and an optional text body.
    public init(
        _ name: String,
        namespace: String,
        attributes: Attributes = [:],
        elements: [Element],
        text: String? = nil
    ) {
        var nodes = elements.map(Node.element)
        if let text { nodes.append(.text(text)) }
        self.init(name, namespace: namespace, attributes: attributes, children: nodes)
    }

    public init(
        _ name: String,
        namespace: String,
        attributes: [String: String],
        elements: [Element],
        text: String? = nil
    ) {
        self.init(name, namespace: namespace, attributes: Attributes(attributes), elements: elements, text: text)
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
        for case .element(let e) in children where e.name == name && (namespace == nil || e.namespace == namespace) {
            return e
        }
        return nil
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
        var attrs = attributes.dictionary
        for (key, value) in changes { attrs[key] = value }
        return Element(name, namespace: namespace, attributes: Attributes(attrs), children: children)
    }

    public func appending(_ child: Element) -> Element {
        Element(name, namespace: namespace, attributes: attributes, children: children + [.element(child)])
    }
}

extension Element {
    /// An element's attributes by qualified name (`"type"`, `"xml:lang"`).
    ///
    /// Attribute order is insignificant in XML (XML 1.0 §3.1), so pairs are
    /// kept sorted by name with unique names: equality and hashing then ignore
    /// the order they were written in. A stanza has a handful of attributes,
    /// for which one small array beats a `Dictionary` (no hashing, one
    /// allocation) on the parser's hot path.
    public struct Attributes: Sendable, Hashable, RandomAccessCollection, ExpressibleByDictionaryLiteral {
        public typealias Element = (key: String, value: String)

        /// Storage; a struct rather than the tuple because arrays of
        /// tuples are copied and destroyed through slower generic code.
        struct Pair: Sendable {
            var key: String
            var value: String
        }

        /// Sorted by key (`String` order); no two keys are equal.
        private let pairs: [Pair]

        public init() { pairs = [] }

        /// When a name repeats, the last value wins.
        public init(dictionaryLiteral elements: (String, String)...) {
            self.init(unsorted: elements.map { Pair(key: $0.0, value: $0.1) })
        }

        public init(_ dictionary: [String: String]) {
            self.init(unsorted: dictionary.map { Pair(key: $0.key, value: $0.value) })
        }

        /// Sorts `pairs`; when a name repeats, the later pair wins.
        init(unsorted pairs: consuming [Pair]) {
            // The parser hands them over sorted already (by bytes, which is
            // String order for ASCII), so confirming costs n−1 comparisons.
            if !Self.isStrictlyIncreasing(pairs) {
                Self.stableSort(&pairs)
                Self.keepLastOfEqualKeys(&pairs)
            }
            self.pairs = pairs
        }

        private static func isStrictlyIncreasing(_ pairs: [Pair]) -> Bool {
            var i = 1
            while i < pairs.count {
                guard pairs[i - 1].key < pairs[i].key else { return false }
                i += 1
            }
            return true
        }

        private static func stableSort(_ pairs: inout [Pair]) {
            if pairs.count > 16 {
                // The index as tie-break makes the library sort stable.
                let order = pairs.indices.sorted { (pairs[$0].key, $0) < (pairs[$1].key, $1) }
                pairs = order.map { pairs[$0] }
                return
            }
            pairs.withUnsafeMutableBufferPointer { buffer in
                for i in buffer.indices.dropFirst() {
                    var j = i
                    while j > 0 && buffer[j].key < buffer[j - 1].key {
                        buffer.swapAt(j, j - 1)
                        j -= 1
                    }
                }
            }
        }

        /// On sorted pairs: of each run of equal keys, keeps the last (the
        /// later one in the input, as a dictionary assignment would).
        private static func keepLastOfEqualKeys(_ pairs: inout [Pair]) {
            var kept = 0
            for i in pairs.indices {
                if kept > 0 && pairs[kept - 1].key == pairs[i].key {
                    pairs[kept - 1] = pairs[i]
                } else {
                    if kept != i { pairs[kept] = pairs[i] }
                    kept += 1
                }
            }
            pairs.removeSubrange(kept...)
        }

        public var startIndex: Int { 0 }
        public var endIndex: Int { pairs.count }
        public subscript(position: Int) -> Element { (key: pairs[position].key, value: pairs[position].value) }

        public subscript(key: String) -> String? {
            if pairs.count <= 8 {
                for pair in pairs where pair.key == key { return pair.value }
                return nil
            }
            var low = 0, high = pairs.count
            while low < high {
                let mid = (low + high) / 2
                if pairs[mid].key < key { low = mid + 1 } else { high = mid }
            }
            return low < pairs.count && pairs[low].key == key ? pairs[low].value : nil
        }

        /// Names in sorted order.
        public var keys: [String] { pairs.map(\.key) }
        /// Values in the order of `keys`.
        public var values: [String] { pairs.map(\.value) }

        public var dictionary: [String: String] {
            Dictionary(uniqueKeysWithValues: pairs.lazy.map { ($0.key, $0.value) })
        }

        public static func == (lhs: Self, rhs: Self) -> Bool {
            lhs.pairs.count == rhs.pairs.count
                && zip(lhs.pairs, rhs.pairs).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(pairs.count)
            for pair in pairs {
                hasher.combine(pair.key)
                hasher.combine(pair.value)
            }
        }
    }
}

extension Element.Attributes: CustomStringConvertible {
    public var description: String { dictionary.description }
}
