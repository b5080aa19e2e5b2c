/// RFC 6120 §4.2, §4.8 and §11: UTF-8 XML output for elements and the stream header.
///
/// Output must always parse back to the same element on the other side, so
/// characters XML 1.0 cannot carry (XML 1.0 §2.2 `Char`) are refused rather
/// than dropped: a stanza that cannot be serialised never enters the outbox.
/// Attributes are sorted by key so output is deterministic (tests, dedup).

public enum SerializationError: Error, Equatable, Sendable {
    /// A code point outside XML 1.0 `Char`, e.g. U+0000 or U+FFFE, found in `element`.
    case invalidCharacter(scalar: UInt32, element: String)
    /// An element or attribute name we could not write as namespace-well-formed XML.
    case invalidName(String, element: String)
}

public enum XMLSerializer {
    /// `</stream:stream>` (RFC 6120 §4.4).
    public static let streamFooter = "</stream:stream>"

    /// The initial stream header (RFC 6120 §4.7) of a client-to-server stream.
    ///
    /// `to`/`from` are JIDs already validated by their parser; any character
    /// XML cannot carry is dropped rather than making this throw.
    public static func streamHeader(to: String, from: String? = nil, lang: String = "en") -> String {
        var out: [UInt8] = []
        out.reserveCapacity(200)
        out.append(contentsOf: "<?xml version='1.0'?><stream:stream xmlns='".utf8)
        out.append(contentsOf: NS.client.utf8)
        out.append(contentsOf: "' xmlns:stream='".utf8)
        out.append(contentsOf: NS.stream.utf8)
        out.append(contentsOf: "' to='".utf8)
        appendLenient(to, to: &out)
        if let from {
            out.append(contentsOf: "' from='".utf8)
            appendLenient(from, to: &out)
        }
        out.append(contentsOf: "' version='1.0' xml:lang='".utf8)
        appendLenient(lang, to: &out)
        out.append(contentsOf: "'>".utf8)
        return String(decoding: out, as: UTF8.self)
    }

    /// Serialises `element`; `xmlns` is written only where the namespace
    /// differs from the default one in scope (`parentNamespace`, for a
    /// stanza the stream's `jabber:client`).
    ///
    /// Elements in `NS.stream` (`<stream:error>`, `<stream:features>`) are
    /// written with the `stream:` prefix the stream header binds, leaving the
    /// default namespace untouched for their children; with a nil
    /// `parentNamespace` (standalone output) the prefix is declared on the root.
    /// Elements in `NS.xml` are written with the `xml:` prefix the same way: it is
    /// bound by definition and may not be the default namespace (Namespaces in XML §3).
    public static func serialize(_ element: Element, parentNamespace: String? = NS.client) throws(SerializationError) -> String {
        String(decoding: try serializeUTF8(element, parentNamespace: parentNamespace), as: UTF8.self)
    }

    /// As `serialize`, as bytes ready for the socket.
    public static func serializeUTF8(_ element: Element, parentNamespace: String? = NS.client) throws(SerializationError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        try write(element, parentNamespace: parentNamespace, declareStreamPrefix: parentNamespace == nil, to: &out)
        return out
    }

    private static func write(
        _ element: Element, parentNamespace: String?, declareStreamPrefix: Bool, to out: inout [UInt8]
    ) throws(SerializationError) {
        try checkName(element.name, element: element.name, attribute: false)
        let streamPrefixed = element.namespace == NS.stream
        let prefix = streamPrefixed ? "stream:" : element.namespace == NS.xml ? "xml:" : ""
        let qualifiedName = prefix.isEmpty ? element.name : prefix + element.name
        let childNamespace = prefix.isEmpty ? element.namespace : parentNamespace
        out.append(UInt8(ascii: "<"))
        out.append(contentsOf: qualifiedName.utf8)
        if !prefix.isEmpty {
            if streamPrefixed && declareStreamPrefix {
                out.append(contentsOf: " xmlns:stream='".utf8)
                out.append(contentsOf: NS.stream.utf8)
                out.append(UInt8(ascii: "'"))
            }
        } else if element.namespace != parentNamespace {
            out.append(contentsOf: " xmlns='".utf8)
            try appendEscaped(element.namespace, attribute: true, element: element.name, to: &out)
            out.append(UInt8(ascii: "'"))
        }
        for (key, value) in element.attributes { // already sorted by key
            try checkName(key, element: element.name, attribute: true)
            out.append(UInt8(ascii: " "))
            out.append(contentsOf: key.utf8)
            out.append(contentsOf: "='".utf8)
            try appendEscaped(value, attribute: true, element: element.name, to: &out)
            out.append(UInt8(ascii: "'"))
        }
        if element.children.isEmpty {
            out.append(contentsOf: "/>".utf8)
            return
        }
        out.append(UInt8(ascii: ">"))
        for child in element.children {
            switch child {
            case .element(let e):
                try write(e, parentNamespace: childNamespace, declareStreamPrefix: declareStreamPrefix && !streamPrefixed, to: &out)
            case .text(let t): try appendEscaped(t, attribute: false, element: element.name, to: &out)
            }
        }
        out.append(contentsOf: "</".utf8)
        out.append(contentsOf: qualifiedName.utf8)
        out.append(UInt8(ascii: ">"))
    }

    /// Names come from code, not users, but a bad one would corrupt the whole
    /// stream, so refuse it. Attribute prefixes other than `xml:` are refused
    /// because the tree does not record what they are bound to, and an `xmlns`
    /// attribute because namespaces are emitted from `Element.namespace` only
    /// (an element may be named `xmlns`).
    private static func checkName(_ name: String, element: String, attribute: Bool) throws(SerializationError) {
        var colons = 0
        for byte in name.utf8 {
            switch byte {
            case 0..<0x21, UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "&"), UInt8(ascii: "'"),
                UInt8(ascii: "\""), UInt8(ascii: "="), UInt8(ascii: "/"), 0x7F:
                throw .invalidName(name, element: element)
            case UInt8(ascii: ":"):
                colons += 1
            default:
                break
            }
        }
        if name.isEmpty || (attribute && (name == "xmlns" || name.hasPrefix("xmlns:"))) { throw .invalidName(name, element: element) }
        if colons > 0 && !(attribute && colons == 1 && name.hasPrefix("xml:") && name.utf8.count > 4) {
            throw .invalidName(name, element: element)
        }
        if let first = name.utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: ".") || (0x30...0x39).contains(first) {
            throw .invalidName(name, element: element)
        }
    }

    /// Escapes for single-quoted attributes or text. `>` is escaped everywhere
    /// (`]]>` in text is otherwise illegal); CR is escaped everywhere and TAB/LF
    /// in attributes because the receiver's XML end-of-line and attribute
    /// normalisation would otherwise rewrite them.
    private static func appendEscaped(_ string: String, attribute: Bool, element: String, to out: inout [UInt8]) throws(SerializationError) {
        var utf8 = string.utf8.makeIterator()
        var previous: (UInt8, UInt8) = (0, 0)
        while let byte = utf8.next() {
            switch byte {
            case UInt8(ascii: "&"): out.append(contentsOf: "&amp;".utf8)
            case UInt8(ascii: "<"): out.append(contentsOf: "&lt;".utf8)
            case UInt8(ascii: ">"): out.append(contentsOf: "&gt;".utf8)
            case UInt8(ascii: "'") where attribute: out.append(contentsOf: "&apos;".utf8)
            case UInt8(ascii: "\"") where attribute: out.append(contentsOf: "&quot;".utf8)
            case 0x0D: out.append(contentsOf: "&#13;".utf8)
            case 0x0A where attribute: out.append(contentsOf: "&#10;".utf8)
            case 0x09 where attribute: out.append(contentsOf: "&#9;".utf8)
            case 0x09, 0x0A: out.append(byte)
            case 0..<0x20:
                throw .invalidCharacter(scalar: UInt32(byte), element: element)
            case 0xBE...0xBF where previous == (0xEF, 0xBF):
                // U+FFFE / U+FFFF are EF BF BE / EF BF BF.
                throw .invalidCharacter(scalar: byte == 0xBE ? 0xFFFE : 0xFFFF, element: element)
            default: out.append(byte)
            }
            previous = (previous.1, byte)
        }
    }

    private static func appendLenient(_ string: String, to out: inout [UInt8]) {
        var clean = String.UnicodeScalarView()
        clean.append(contentsOf: string.unicodeScalars.filter(isXMLChar))
        // Only ever fails on characters the filter removed.
        try? appendEscaped(String(clean), attribute: true, element: "stream", to: &out)
    }

    /// XML 1.0 §2.2 `Char` (Swift scalars are never surrogates).
    static func isXMLChar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x9, 0xA, 0xD, 0x20...0xFFFD, 0x10000...0x10FFFF: true
        default: false
        }
    }
}
