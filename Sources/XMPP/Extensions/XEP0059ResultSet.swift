/// XEP-0059: Result Set Management (`http://jabber.org/protocol/rsm`) §2: page requests and replies.
///
/// Item ids are opaque strings chosen by the responder; we only echo them back.
public enum ResultSet {
    /// The `<set/>` a requester attaches to ask for one page (§2.1–§2.5).
    public struct Request: Sendable, Equatable {
        /// Page size; the responder may return fewer (§2.1).
        public var max: Int?
        /// The page after this item id (§2.2).
        public var after: String?
        /// The page before this item id; "" asks for the last page (§2.5).
        public var before: String?

        public init(max: Int? = nil, after: String? = nil, before: String? = nil) {
            self.max = max
            self.after = after
            self.before = before
        }

        public var element: Element {
            var children: [Element] = []
            if let max { children.append(Self.text("max", String(Swift.max(0, max)))) }
            if let after { children.append(Self.text("after", after)) }
            if let before {
                children.append(
                    before.isEmpty ? Element("before", namespace: NS.rsm) : Self.text("before", before))
            }
            return Element("set", namespace: NS.rsm, elements: children)
        }

        private static func text(_ name: String, _ value: String) -> Element {
            Element(name, namespace: NS.rsm, elements: [], text: value)
        }
    }

    /// The `<set/>` a responder returns describing the page it sent (§2.1, §2.6).
    public struct Reply: Sendable, Equatable {
        public var first: String?
        /// The `index` attribute of `<first/>`: the first item's position in the whole set.
        public var firstIndex: Int?
        public var last: String?
        /// The size of the whole result set, when the responder tells (it may be an estimate).
        public var count: Int?

        public init(first: String? = nil, firstIndex: Int? = nil, last: String? = nil, count: Int? = nil) {
            self.first = first
            self.firstIndex = firstIndex
            self.last = last
            self.count = count
        }

        /// Parses a `<set/>` in the RSM namespace; nil for anything else. An empty id is
        /// treated as absent, since it cannot address an item to page from.
        public init?(_ element: Element) {
            guard element.matches("set", NS.rsm) else { return nil }
            let first = element.child("first", namespace: NS.rsm)
            self.init(
                first: first.map(\.text).flatMap { $0.isEmpty ? nil : $0 },
                firstIndex: first?["index"].flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil },
                last: element.childText("last", namespace: NS.rsm).flatMap { $0.isEmpty ? nil : $0 },
                count: element.childText("count", namespace: NS.rsm).flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil })
        }

        /// Finds the `<set/>` directly inside `parent` (e.g. a MAM `<fin/>`).
        public init?(in parent: Element) {
            guard let set = parent.child("set", namespace: NS.rsm) else { return nil }
            self.init(set)
        }
    }
}
