/// RFC 6120 §4.2–§4.4 and §11: incremental parser turning stream bytes into `StreamEvent`s.
///
/// The XML work (and every restriction and cap) lives in the CXMLStream C
/// target; this side assembles its callbacks into immutable `Element` trees by
/// depth: depth 0 is the stream header, depth 1 starts a stanza. A parser is
/// owned by one connection and is not thread-safe; `reset()` gives the fresh
/// context RFC 6120 requires after STARTTLS and SASL success (§5.4.3.3, §6.4.6).
import CXMLStream

public final class StreamParser {
    /// Caps enforced while parsing; exceeding one is a `policyViolation`.
    public struct Limits: Sendable, Equatable {
        /// Open elements including the stream header.
        public var maxDepth: Int
        /// Bytes of one depth-1 element as received (also bounds libxml2's buffer).
        public var maxStanzaBytes: Int
        public var maxAttributes: Int
        /// Decoded character data within one depth-1 element.
        public var maxTextBytes: Int

        public init(
            maxDepth: Int = 64,
            maxStanzaBytes: Int = 1 << 20,
            maxAttributes: Int = 64,
            maxTextBytes: Int = 1 << 20
        ) {
            self.maxDepth = maxDepth
            self.maxStanzaBytes = maxStanzaBytes
            self.maxAttributes = maxAttributes
            self.maxTextBytes = maxTextBytes
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
        guard let parser else {
            throw .policyViolation("XML parser could not be allocated")
        }
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return builder.state.takeEvents() }
        let rc = xs_feed(parser, base.assumingMemoryBound(to: CChar.self), bytes.count)
        if rc != Int32(XS_OK.rawValue) {
            builder.state.discard()
            throw Self.error(kind: rc, message: String(cString: xs_error_message(parser)))
        }
        return builder.state.takeEvents()
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
        callbacks.start = { ctx, local, ns, attrs, count, _ in
            guard let ctx, let local, let ns else { return }
            Unmanaged<TreeBuilder>.fromOpaque(ctx).takeUnretainedValue().state.start(local, ns, attrs, count)
        }
        callbacks.end = { ctx, _ in
            guard let ctx else { return }
            Unmanaged<TreeBuilder>.fromOpaque(ctx).takeUnretainedValue().state.end()
        }
        callbacks.text = { ctx, bytes, count in
            guard let ctx, let bytes else { return }
            Unmanaged<TreeBuilder>.fromOpaque(ctx).takeUnretainedValue().state.text(bytes, count)
        }
        callbacks.stream_close = { ctx in
            guard let ctx else { return }
            Unmanaged<TreeBuilder>.fromOpaque(ctx).takeUnretainedValue().state.streamClosed()
        }
        // Zero means "C default" there, so clamp to at least 1.
        var capped = xs_limits()
        capped.max_depth = UInt32(clamping: max(1, limits.maxDepth))
        capped.max_stanza_bytes = max(1, limits.maxStanzaBytes)
        capped.max_attributes = UInt32(clamping: max(1, limits.maxAttributes))
        capped.max_text_bytes = max(1, limits.maxTextBytes)
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

/// Assembles elements by depth, reusing its buffers across stanzas.
private struct TreeState {
    private struct Frame {
        var name: String
        var namespace: String
        var attributes: [String: String]
        /// Where this element's children begin in `nodes`.
        var firstChild: Int
    }

    private var events: [StreamEvent] = []
    private var frames: [Frame] = []
    /// Children of all open elements, innermost last: each element's array is
    /// then allocated once, at its exact size, instead of grown by appends.
    private var nodes: [Element.Node] = []
    /// Character data for the innermost open element, merged across callbacks.
    private var pendingText: [UInt8] = []
    /// Names and namespaces are interned by the C side (stable pointers per
    /// context), so a small direct-mapped cache converts each one to a String
    /// about once; collisions simply convert again.
    private var cacheKeys = [UnsafeRawPointer?](repeating: nil, count: 256)
    private var cacheValues = [String](repeating: "", count: 256)

    mutating func takeEvents() -> [StreamEvent] {
        var out: [StreamEvent] = []
        swap(&out, &events)
        events.reserveCapacity(out.count)
        return out
    }

    mutating func discard() {
        events.removeAll()
        frames.removeAll()
        nodes.removeAll()
        pendingText.removeAll()
    }

    /// Needed on a new C context: its interned pointers may reuse freed addresses.
    mutating func reset() {
        discard()
        for i in cacheKeys.indices { cacheKeys[i] = nil }
    }

    mutating func streamOpened(_ attrs: UnsafePointer<xs_attr>?, _ count: Int) {
        events.append(.streamOpened(attributes: attributes(attrs, count)))
    }

    mutating func start(_ local: UnsafePointer<CChar>, _ ns: UnsafePointer<CChar>, _ attrs: UnsafePointer<xs_attr>?, _ count: Int) {
        flushText()
        let frame = Frame(
            name: string(interned: local), namespace: string(interned: ns),
            attributes: attributes(attrs, count), firstChild: nodes.count)
        frames.append(frame)
    }

    mutating func end() {
        flushText()
        guard let frame = frames.popLast() else { return }
        var children: [Element.Node] = []
        if frame.firstChild < nodes.count {
            children = Array(nodes[frame.firstChild...])
            nodes.removeSubrange(frame.firstChild...)
        }
        let element = Element(frame.name, namespace: frame.namespace, attributes: frame.attributes, children: children)
        if frames.isEmpty {
            events.append(.element(element))
        } else {
            nodes.append(.element(element))
        }
    }

    mutating func text(_ bytes: UnsafePointer<CChar>, _ count: Int) {
        UnsafeRawPointer(bytes).withMemoryRebound(to: UInt8.self, capacity: count) {
            pendingText.append(contentsOf: UnsafeBufferPointer(start: $0, count: count))
        }
    }

    mutating func streamClosed() {
        events.append(.streamClosed)
    }

    private mutating func flushText() {
        guard !pendingText.isEmpty, !frames.isEmpty else { return }
        nodes.append(.text(String(decoding: pendingText, as: UTF8.self)))
        pendingText.removeAll(keepingCapacity: true)
    }

    private mutating func attributes(_ attrs: UnsafePointer<xs_attr>?, _ count: Int) -> [String: String] {
        guard let attrs, count > 0 else { return [:] }
        var result = [String: String](minimumCapacity: count)
        for i in 0..<count {
            let attr = attrs[i]
            guard let local = attr.local else { continue }
            var key = string(interned: local)
            if let prefix = attr.prefix {
                key = string(interned: prefix) + ":" + key
            }
            var value = ""
            if let bytes = attr.value, attr.value_len > 0 {
                value = UnsafeRawPointer(bytes).withMemoryRebound(to: UInt8.self, capacity: attr.value_len) {
                    String(decoding: UnsafeBufferPointer(start: $0, count: attr.value_len), as: UTF8.self)
                }
            }
            result[key] = value
        }
        return result
    }

    private mutating func string(interned pointer: UnsafePointer<CChar>) -> String {
        let key = UnsafeRawPointer(pointer)
        let slot = Int(truncatingIfNeeded: UInt(bitPattern: key) >> 3) & (cacheKeys.count - 1)
        if cacheKeys[slot] == key { return cacheValues[slot] }
        let value = String(cString: pointer)
        cacheKeys[slot] = key
        cacheValues[slot] = value
        return value
    }
}
