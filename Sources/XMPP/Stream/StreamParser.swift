/// RFC 6120 §4.2–§4.4 and §11: incremental parser turning stream bytes into `StreamEvent`s.
///
/// The XML work (and every restriction and cap) lives in the CXMLStream C
/// target. It records each depth-1 element (a stanza) as a flat tape and hands
/// it over once complete, so Swift is entered once per stanza, not once per
/// SAX event, and builds the immutable `Element` tree in one pass. A parser is
/// owned by one connection and is not thread-safe; `reset()` gives the fresh
/// context RFC 6120 requires after STARTTLS and SASL success (§5.4.3.3, §6.4.6).
import CXMLStream
import Glibc

public final class StreamParser {
    /// One element serialised by `XMLSerializer`, read back (e.g. a bookmark's `<extensions/>`
    /// kept in the Store): parsed as a depth-1 element of a `jabber:client` stream, so it gets
    /// the same checks and limits as anything that came off the wire.
    public static func element(fromSerialized text: String) throws(XMLStreamError) -> Element {
        let events = try StreamParser().feed(
            "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>" + text)
        guard events.count == 2, case .element(let element) = events[1] else {
            throw .notWellFormed("not a single element")
        }
        return element
    }

    /// Caps enforced while parsing. A stanza crossing one of the first four is dropped
    /// (`StreamEvent.dropped`); the stream header crossing one, or a dropped stanza longer
    /// than `maxSkipBytes`, is a `policyViolation` that ends the stream.
    public struct Limits: Sendable, Equatable {
        /// Open elements including the stream header.
        public var maxDepth: Int
        /// Bytes of one depth-1 element as received (also bounds libxml2's buffer).
        public var maxStanzaBytes: Int
        /// Attribute assignments in one start tag, namespace declarations included.
        public var maxAttributes: Int
        /// Character data within one depth-1 element, counted as received.
        public var maxTextBytes: Int
        /// The hard cap: how far a dropped stanza is skipped before the stream is given up.
        public var maxSkipBytes: Int

        public init(
            maxDepth: Int = 64,
            maxStanzaBytes: Int = 1 << 20,
            maxAttributes: Int = 64,
            maxTextBytes: Int = 512 << 10,
            maxSkipBytes: Int = 16 << 20
        ) {
            self.maxDepth = maxDepth
            self.maxStanzaBytes = maxStanzaBytes
            self.maxAttributes = maxAttributes
            self.maxTextBytes = maxTextBytes
            self.maxSkipBytes = maxSkipBytes
        }
    }

    public let limits: Limits
    private let builder = TreeBuilder()
    private var parser: OpaquePointer?

    public init(limits: Limits = .init()) {
        self.limits = limits
        parser = makeParser()
    }

    deinit {
        xs_free(parser)
    }

    /// Parses the next bytes of the stream and returns the events they completed.
    ///
    /// Errors are sticky: after one, every later feed fails the same way until
    /// `reset()`. Events completed earlier in the failing chunk are dropped,
    /// since the stream is about to be closed with the error.
    public func feed(_ bytes: UnsafeRawBufferPointer) throws(XMLStreamError) -> [StreamEvent] {
        let (events, error) = feedKeepingCompleted(bytes)
        if let error { throw error }
        return events
    }

    /// As `feed`, but an error still returns the events completed before it in the same bytes.
    ///
    /// During negotiation an element such as `<proceed/>` ends the stream it arrived on, so
    /// whatever follows it in the same read is junk from a stream about to be thrown away
    /// (RFC 6120 §5.4.3.3), malformed or not: the caller decides whether the error matters.
    public func feedKeepingCompleted(_ bytes: UnsafeRawBufferPointer) -> (events: [StreamEvent], error: XMLStreamError?) {
        guard let parser else {
            return ([], .policyViolation("XML parser could not be allocated"))
        }
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return (builder.state.takeEvents(), nil) }
        if let failure = builder.state.failure { return ([], .policyViolation(failure)) }
        let rc = xs_feed(parser, base.assumingMemoryBound(to: CChar.self), bytes.count)
        var error: XMLStreamError?
        if rc != Int32(XS_OK.rawValue) {
            error = Self.error(kind: rc, message: String(cString: xs_error_message(parser)))
        } else if let failure = builder.state.failure {
            error = .policyViolation(failure)
        }
        let events = builder.state.takeEvents()
        if error != nil { builder.state.discard() }
        return (events, error)
    }

    public func feed(_ bytes: [UInt8]) throws(XMLStreamError) -> [StreamEvent] {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(XMLStreamError) in try feed(raw) }
        }
        return try result.get()
    }

    public func feed(_ string: String) throws(XMLStreamError) -> [StreamEvent] {
        var string = string
        let result = string.withUTF8 { utf8 in
            Result { () throws(XMLStreamError) in try feed(UnsafeRawBufferPointer(utf8)) }
        }
        return try result.get()
    }

    /// Discards all state and starts a new C context, ready for a new stream header.
    public func reset() {
        xs_free(parser)
        parser = nil
        builder.state.reset()
        parser = makeParser()
    }

    private func makeParser() -> OpaquePointer? {
        var callbacks = xs_callbacks()
        callbacks.stream_open = { ctx, attrs, count in
            guard let ctx else { return }
            Unmanaged<TreeBuilder>.fromOpaque(ctx).takeUnretainedValue().state.streamOpened(attrs, count)
        }
        callbacks.stanza = { ctx, stanza in
            guard let ctx, let stanza else { return }
            Unmanaged<TreeBuilder>.fromOpaque(ctx).takeUnretainedValue().state.stanza(stanza.pointee)
        }
        callbacks.stream_close = { ctx in
            guard let ctx else { return }
            Unmanaged<TreeBuilder>.fromOpaque(ctx).takeUnretainedValue().state.streamClosed()
        }
        callbacks.dropped = { ctx, partial, name, reason in
            guard let ctx, let partial else { return }
            Unmanaged<TreeBuilder>.fromOpaque(ctx).takeUnretainedValue().state.dropped(
                partial.pointee, name: name.map { String(cString: $0) } ?? "",
                reason: reason.map { String(cString: $0) } ?? "")
        }
        // Zero means "C default" there, so clamp to at least 1.
        var capped = xs_limits()
        capped.max_depth = UInt32(clamping: max(1, limits.maxDepth))
        capped.max_stanza_bytes = max(1, limits.maxStanzaBytes)
        capped.max_attributes = UInt32(clamping: max(1, limits.maxAttributes))
        capped.max_text_bytes = max(1, limits.maxTextBytes)
        capped.max_skip_bytes = max(1, limits.maxSkipBytes)
        // Unretained is sound: `builder` lives as long as self, and callbacks
        // only run synchronously inside xs_feed.
        let ctx = Unmanaged.passUnretained(builder).toOpaque()
        return xs_new(&callbacks, ctx, &capped)
    }

    private static func error(kind: Int32, message: String) -> XMLStreamError {
        switch UInt32(bitPattern: kind) {
        case XS_RESTRICTED_XML.rawValue: .restrictedXML(message)
        case XS_POLICY_VIOLATION.rawValue: .policyViolation(message)
        default: .notWellFormed(message)
        }
    }
}

@available(*, unavailable, message: "owned by one connection")
extension StreamParser: Sendable {}

/// Receives the C callbacks; all work happens in one `modify` of `state` per
/// callback, since every class-property access costs a dynamic exclusivity check.
private final class TreeBuilder {
    var state = TreeState()
}

/// Builds elements from the C side's stanza tapes, reusing its buffers.
private struct TreeState {
    /// An element whose children are still being read off the tape.
    private struct Frame {
        var name: String
        var namespace: String
        var attributes: Element.Attributes
        var children: [Element.Node]
        /// Direct children not read yet.
        var remaining: Int
    }

    private var events: [StreamEvent] = []
    /// Open elements of the stanza being built, innermost last. Iterative
    /// rather than recursive: `Limits.maxDepth` may be large, stacks are not.
    private var frames: [Frame] = []
    /// Why a tape was refused, if one was; sticky like the C side's errors.
    private(set) var failure: String?
    /// Names and namespaces are interned by the C side (stable pointers per
    /// context), so a small direct-mapped cache converts each one to a String
    /// about once; collisions simply convert again.
    private var cacheKeys = [UnsafeRawPointer?](repeating: nil, count: 256)
    private var cacheValues = [String](repeating: "", count: 256)

    /// Attribute values repeat (`to` is our own JID, `from` a handful of
    /// peers, `type`), so each attribute name's slot keeps its last value:
    /// equal bytes reuse that String, sparing an allocation, UTF-8
    /// validation and a free. Hits are checked by content, so a slot shared
    /// by two names is merely less effective.
    private var valueCache = [String](repeating: "", count: 64)
    /// Longer values rarely repeat, and must not stay pinned in the cache.
    private static let maxCachedValueBytes = 128

    mutating func takeEvents() -> [StreamEvent] {
        var out: [StreamEvent] = []
        swap(&out, &events)
        events.reserveCapacity(out.count)
        return out
    }

    mutating func discard() {
        events.removeAll()
        frames.removeAll()
    }

    /// Needed on a new C context: its interned pointers may reuse freed addresses.
    mutating func reset() {
        discard()
        failure = nil
        for i in cacheKeys.indices { cacheKeys[i] = nil }
        for i in valueCache.indices { valueCache[i] = "" }
    }

    mutating func streamOpened(_ attrs: UnsafePointer<xs_attr>?, _ count: Int) {
        var result: [String: String] = [:]
        if let attrs, count > 0 {
            for attr in UnsafeBufferPointer(start: attrs, count: count) {
                guard let local = attr.local else { continue }
                let localName = String(cString: local)
                let key = attr.prefix.map { String(cString: $0) + ":" + localName } ?? localName
                result[key] = attr.value.flatMap { Self.string($0, attr.value_len) } ?? ""
            }
        }
        events.append(.streamOpened(attributes: result))
    }

    mutating func streamClosed() {
        events.append(.streamClosed)
    }

    /// Builds one stanza from its tape (see `xs_stanza`). Every count and
    /// offset is checked against the buffers it indexes before use.
    mutating func stanza(_ tape: xs_stanza) {
        guard failure == nil else { return }
        if let element = build(tape) {
            events.append(.element(element))
        } else {
            failure = "internal error: inconsistent stanza record from the XML parser"
        }
    }

    /// A stanza skipped for crossing a limit. Its partial tape has the same shape as a whole
    /// one (each element counts only the children recorded), so it builds the same way.
    mutating func dropped(_ partial: xs_stanza, name: String, reason: String) {
        guard failure == nil else { return }
        let element = partial.node_count == 0 ? nil : build(partial)
        events.append(.dropped(DroppedStanza(name: name, partial: element, reason: reason)))
    }

    private mutating func build(_ tape: xs_stanza) -> Element? {
        let nodes = UnsafeBufferPointer(start: tape.nodes, count: tape.nodes == nil ? 0 : tape.node_count)
        let attrs = UnsafeBufferPointer(start: tape.attrs, count: tape.attrs == nil ? 0 : tape.attr_count)
        let bytes = UnsafeRawBufferPointer(start: tape.bytes, count: tape.bytes == nil ? 0 : tape.byte_count)
        return build(nodes, attrs, bytes)
    }

    private mutating func build(
        _ nodes: UnsafeBufferPointer<xs_node>, _ attrs: UnsafeBufferPointer<xs_stanza_attr>, _ bytes: UnsafeRawBufferPointer
    ) -> Element? {
        frames.removeAll(keepingCapacity: true)
        var index = 0
        while index < nodes.count {
            let node = nodes[index]
            index += 1
            switch node.kind {
            case Int32(XS_NODE_TEXT):
                // Text only occurs inside an element.
                guard !frames.isEmpty, let text = Self.string(bytes, node.text_offset, node.text_len) else { return nil }
                frames[frames.count - 1].children.append(.text(text))
                frames[frames.count - 1].remaining -= 1
            case Int32(XS_NODE_ELEMENT):
                guard let name = node.name, let namespace = node.ns,
                      node.first_attr <= attrs.count, node.attr_count <= attrs.count - node.first_attr,
                      // Each child takes at least one node, so more cannot be right.
                      node.child_count <= nodes.count - index
                else { return nil }
                var attributes = Element.Attributes()
                if node.attr_count > 0 {
                    var pairs: [Element.Attributes.Pair] = []
                    pairs.reserveCapacity(node.attr_count)
                    for attr in attrs[node.first_attr..<(node.first_attr + node.attr_count)] {
                        guard let key = attr.name, let value = value(bytes, attr.value_offset, attr.value_len, name: key)
                        else { return nil }
                        pairs.append(.init(key: string(interned: key, attr.name_len), value: value))
                    }
                    attributes = Element.Attributes(unsorted: pairs)
                }
                var children: [Element.Node] = []
                if node.child_count > 0 { children.reserveCapacity(node.child_count) }
                frames.append(Frame(
                    name: string(interned: name, node.name_len), namespace: string(interned: namespace, node.ns_len),
                    attributes: attributes, children: children, remaining: node.child_count))
            default:
                return nil
            }
            // Close every element whose last child was just read.
            while let last = frames.last, last.remaining == 0 {
                let frame = frames.removeLast()
                let element = Element(frame.name, namespace: frame.namespace, attributes: frame.attributes, children: frame.children)
                guard !frames.isEmpty else {
                    // The stanza's own element: the tape must end with it.
                    return index == nodes.count ? element : nil
                }
                frames[frames.count - 1].children.append(.element(element))
                frames[frames.count - 1].remaining -= 1
            }
        }
        return nil
    }

    /// `len` bytes at `offset` in `bytes`, or nil if that is out of bounds.
    private static func string(_ bytes: UnsafeRawBufferPointer, _ offset: Int, _ len: Int) -> String? {
        guard offset >= 0, len >= 0, offset <= bytes.count, len <= bytes.count - offset else { return nil }
        if len == 0 { return "" }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + len)]), as: UTF8.self)
    }

    /// A cache slot for an interned pointer. The dictionary packs names a few
    /// bytes apart, so low address bits alone collide; Fibonacci hashing
    /// spreads them. `count` is a power of two.
    private static func slot(_ pointer: UnsafeRawPointer, _ count: Int) -> Int {
        let mixed = UInt64(UInt(bitPattern: pointer)) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: mixed >> 40) & (count - 1)
    }

    /// An attribute value, as `string(_:_:_:)`, through `valueCache`.
    private mutating func value(_ bytes: UnsafeRawBufferPointer, _ offset: Int, _ len: Int, name: UnsafePointer<CChar>) -> String? {
        guard offset >= 0, len >= 0, offset <= bytes.count, len <= bytes.count - offset else { return nil }
        guard len > 0, len <= Self.maxCachedValueBytes, let base = bytes.baseAddress else { return Self.string(bytes, offset, len) }
        let incoming = UnsafeRawBufferPointer(start: base + offset, count: len)
        let slot = Self.slot(UnsafeRawPointer(name), valueCache.count)
        let cached = valueCache[slot]
        if cached.utf8.count == len,
           cached.utf8.withContiguousStorageIfAvailable({ $0.baseAddress.map { memcmp($0, base + offset, len) == 0 } }) == true {
            return cached
        }
        let value = String(decoding: incoming, as: UTF8.self)
        valueCache[slot] = value
        return value
    }

    private static func string(_ bytes: UnsafePointer<CChar>, _ len: Int) -> String {
        UnsafeRawPointer(bytes).withMemoryRebound(to: UInt8.self, capacity: len) {
            String(decoding: UnsafeBufferPointer(start: $0, count: len), as: UTF8.self)
        }
    }

    private mutating func string(interned pointer: UnsafePointer<CChar>, _ len: Int) -> String {
        let key = UnsafeRawPointer(pointer)
        let slot = Self.slot(key, cacheKeys.count)
        if cacheKeys[slot] == key { return cacheValues[slot] }
        let value = Self.string(pointer, len)
        cacheKeys[slot] = key
        cacheValues[slot] = value
        return value
    }
}
