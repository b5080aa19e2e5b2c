/// XMPP addresses (RFC 7622 §3): `[localpart@]domainpart[/resourcepart]`.
///
/// Parsing splits on the separators first (§3.1: resource after the first '/',
/// localpart before the first '@' of what precedes it), then prepares each part.
///
/// PRECIS is approximated, not implemented in full:
/// - localpart (UsernameCaseMapped): NFC, Unicode `lowercased()` for case
///   mapping, the RFC 7622 §3.3.1 exclusions `" & ' / : < > @`, and no
///   whitespace, control or format (bidi, zero-width) characters. Width
///   mapping is not applied.
/// - domainpart: one trailing dot stripped, NFC, lowercased; letters, digits,
///   '-', '_' and non-ASCII letters only, labels 1…63 characters; an IPv6
///   literal in brackets. No IDNA A-label conversion.
/// - resourcepart (OpaqueString): NFC, non-ASCII spaces mapped to U+0020,
///   controls refused, case preserved.
/// Each part is 1…1023 bytes of UTF-8 after preparation.
import Foundation

public struct JID: Sendable, Hashable, CustomStringConvertible, Codable {
    public static let maximumPartBytes = 1023

    public let local: String?
    public let domain: String
    public let resource: String?

    public init(_ string: String) throws(JIDError) {
        var head = Substring(string)
        var resourcePart: Substring?
        if let slash = head.firstIndex(of: "/") {
            resourcePart = head[head.index(after: slash)...]
            head = head[..<slash]
        }
        var localPart: Substring?
        var domainPart = head
        if let at = head.firstIndex(of: "@") {
            localPart = head[..<at]
            domainPart = head[head.index(after: at)...]
        }
        do throws(JIDError.Reason) {
            try self.init(
                validLocal: localPart.map(String.init),
                domain: String(domainPart),
                resource: resourcePart.map(String.init)
            )
        } catch let reason {
            throw JIDError(input: string, reason: reason)
        }
    }

    /// Nil instead of an error, for input where the reason doesn't matter.
    public init?(validating string: String) {
        guard let jid = try? JID(string) else { return nil }
        self = jid
    }

    /// Builds from parts, each prepared and checked as if parsed.
    public init(local: String?, domain: String, resource: String?) throws(JIDError) {
        do throws(JIDError.Reason) {
            try self.init(validLocal: local, domain: domain, resource: resource)
        } catch let reason {
            let input = (local.map { $0 + "@" } ?? "") + domain + (resource.map { "/" + $0 } ?? "")
            throw JIDError(input: input, reason: reason)
        }
    }

    private init(validLocal local: String?, domain: String, resource: String?) throws(JIDError.Reason) {
        self.local = try local.map { raw throws(JIDError.Reason) in try Self.prepareLocal(raw) }
        self.domain = try Self.prepareDomain(domain)
        self.resource = try resource.map { raw throws(JIDError.Reason) in try Self.prepareResource(raw) }
    }

    private init(unchecked local: String?, domain: String, resource: String?) {
        self.local = local
        self.domain = domain
        self.resource = resource
    }

    public var bare: JID { JID(unchecked: local, domain: domain, resource: nil) }
    public var isBare: Bool { resource == nil }

    /// The same bare JID with another resource (prepared and checked).
    public func withResource(_ resource: String) throws(JIDError) -> JID {
        try JID(local: local, domain: domain, resource: resource)
    }

    public var description: String {
        (local.map { $0 + "@" } ?? "") + domain + (resource.map { "/" + $0 } ?? "")
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let string = try container.decode(String.self)
        do {
            try self.init(string)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    // MARK: - Preparation

    private static let localExclusions: Set<Unicode.Scalar> = ["\"", "&", "'", "/", ":", "<", ">", "@"]

    static func prepareLocal(_ raw: String, fastPath: Bool = true) throws(JIDError.Reason) -> String {
        guard !raw.isEmpty else { throw .emptyLocalpart }
        if fastPath, let fast = asciiPrepared(raw, allowed: { $0 > 0x20 && $0 != 0x7F && !localExclusionBytes.contains($0) }, lowercase: true) {
            return fast
        }
        let local = raw.precomposedStringWithCanonicalMapping.lowercased()
        for character in local {
            for scalar in character.unicodeScalars
            where localExclusions.contains(scalar) || isSpaceOrInvisible(scalar) {
                throw .invalidCharacter(character, part: .localpart)
            }
        }
        let bytes = local.utf8.count
        guard bytes <= maximumPartBytes else { throw .localpartTooLong(bytes: bytes) }
        return local
    }

    static func prepareDomain(_ raw: String, fastPath: Bool = true) throws(JIDError.Reason) -> String {
        var domain = raw
        // RFC 7622 §3.2: a final label separator is stripped (once).
        if domain.hasSuffix(".") { domain.removeLast() }
        guard !domain.isEmpty else { throw .emptyDomain }
        if fastPath, let fast = asciiPrepared(domain, allowed: isASCIIDomainByte, lowercase: true), isValidDomainLabels(fast) {
            return fast
        }
        domain = domain.precomposedStringWithCanonicalMapping.lowercased()
        let bytes = domain.utf8.count
        guard bytes <= maximumPartBytes else { throw .domainTooLong(bytes: bytes) }

        if domain.hasPrefix("[") {
            try checkIPv6Literal(domain)
            return domain
        }
        for character in domain where !isDomainCharacter(character) {
            throw .invalidCharacter(character, part: .domainpart)
        }
        for label in domain.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty else { throw .emptyDomainLabel }
            // Characters, not A-label octets: IDNA conversion is out of scope (see file comment).
            guard label.unicodeScalars.count <= 63 else { throw .domainLabelTooLong(String(label)) }
        }
        return domain
    }

    static func prepareResource(_ raw: String, fastPath: Bool = true) throws(JIDError.Reason) -> String {
        guard !raw.isEmpty else { throw .emptyResource }
        if fastPath, let fast = asciiPrepared(raw, allowed: { $0 >= 0x20 && $0 != 0x7F }, lowercase: false) { return fast }
        var resource = ""
        for scalar in raw.precomposedStringWithCanonicalMapping.unicodeScalars {
            if scalar.properties.generalCategory == .control {
                throw .invalidCharacter(Character(scalar), part: .resourcepart)
            }
            resource.unicodeScalars.append(scalar.properties.generalCategory == .spaceSeparator ? " " : scalar)
        }
        let bytes = resource.utf8.count
        guard bytes <= maximumPartBytes else { throw .resourceTooLong(bytes: bytes) }
        return resource
    }

    // MARK: ASCII fast path
    // Every stanza's addresses are parsed, most of them plain ASCII: for those, NFC is the
    // identity, case mapping is a byte operation, and the Unicode-property checks below reduce
    // to byte ranges. They cost a sixth of the ingest profile. Anything else, and any input
    // the fast path would refuse, takes the full path, which also words the error.

    private static let localExclusionBytes: Set<UInt8> = Set("\"&'/:<>@".utf8)

    private static func isASCIIDomainByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
            true
        default:
            false
        }
    }

    /// `raw` prepared when it is ASCII, every byte `allowed`, and at most `maximumPartBytes`;
    /// nil otherwise.
    private static func asciiPrepared(_ raw: String, allowed: (UInt8) -> Bool, lowercase: Bool) -> String? {
        let utf8 = raw.utf8
        guard utf8.count <= maximumPartBytes else { return nil }
        var hasUppercase = false
        for byte in utf8 {
            guard byte < 0x80, allowed(byte) else { return nil }
            if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { hasUppercase = true }
        }
        guard lowercase, hasUppercase else { return raw }
        return String(decoding: utf8.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 }, as: UTF8.self)
    }

    /// Labels of 1…63 characters (an ASCII domain, so bytes are characters).
    private static func isValidDomainLabels(_ domain: String) -> Bool {
        var length = 0
        for byte in domain.utf8 {
            if byte == UInt8(ascii: ".") {
                guard length > 0 else { return false }
                length = 0
            } else {
                length += 1
                if length > 63 { return false }
            }
        }
        return length > 0
    }

    private static func isSpaceOrInvisible(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .spaceSeparator, .lineSeparator, .paragraphSeparator: true
        default: scalar.properties.isWhitespace
        }
    }

    private static func isDomainCharacter(_ character: Character) -> Bool {
        if character.isASCII {
            return character.isLetter || character.isNumber || character == "-" || character == "_" || character == "."
        }
        // Non-ASCII: letters, marks and digits of IDN labels; no spaces, symbols, punctuation or invisibles.
        return character.unicodeScalars.allSatisfy { scalar in
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                 .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber:
                true
            default:
                false
            }
        }
    }

    /// `[` IPv6address `]` (RFC 7622 §3.2 via RFC 3986 IP-literal), checked by shape, not fully parsed.
    private static func checkIPv6Literal(_ domain: String) throws(JIDError.Reason) {
        guard domain.hasSuffix("]"), domain.count > 2 else { throw .invalidIPLiteral }
        let inner = domain.dropFirst().dropLast()
        let hexDigitsColonsAndDots = inner.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
        guard hexDigitsColonsAndDots, inner.contains(":"),
              inner.split(separator: ":", omittingEmptySubsequences: true).count <= 8
        else { throw .invalidIPLiteral }
    }
}

/// Why a string is not a JID, with the input for context.
public struct JIDError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Part: String, Sendable {
        case localpart, domainpart, resourcepart
    }

    public enum Reason: Error, Sendable, Equatable {
        case emptyLocalpart
        case localpartTooLong(bytes: Int)
        case emptyDomain
        case domainTooLong(bytes: Int)
        case emptyDomainLabel
        case domainLabelTooLong(String)
        case invalidIPLiteral
        case emptyResource
        case resourceTooLong(bytes: Int)
        case invalidCharacter(Character, part: Part)
    }

    public let input: String
    public let reason: Reason

    public init(input: String, reason: Reason) {
        self.input = input
        self.reason = reason
    }

    public var description: String {
        "invalid JID '\(Self.shown(input))': \(explanation)"
    }

    private var explanation: String {
        let limit = JID.maximumPartBytes
        switch reason {
        case .emptyLocalpart: return "nothing before '@'"
        case .localpartTooLong(let bytes): return "localpart is \(bytes) bytes (max \(limit))"
        case .emptyDomain: return "no domain"
        case .domainTooLong(let bytes): return "domain is \(bytes) bytes (max \(limit))"
        case .emptyDomainLabel: return "empty label in domain (two dots in a row?)"
        case .domainLabelTooLong(let label): return "domain label '\(Self.shown(label))' is longer than 63"
        case .invalidIPLiteral: return "malformed IPv6 address in brackets"
        case .emptyResource: return "nothing after '/'"
        case .resourceTooLong(let bytes): return "resource is \(bytes) bytes (max \(limit))"
        case .invalidCharacter(let character, let part):
            let codes = character.unicodeScalars
                .map { "U+" + String($0.value, radix: 16, uppercase: true) }
                .joined(separator: " ")
            return "character \(codes) not allowed in the \(part.rawValue)"
        }
    }

    /// Inert and short: the input may be hostile or huge, and this text reaches the terminal.
    private static func shown(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars.prefix(64) {
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator:
                result += "\\u{" + String(scalar.value, radix: 16) + "}"
            default:
                result.unicodeScalars.append(scalar)
            }
        }
        return text.unicodeScalars.count > 64 ? result + "…" : result
    }
}
