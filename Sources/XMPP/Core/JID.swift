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
        self.local = try local.map(Self.prepareLocal)
        self.domain = try Self.prepareDomain(domain)
        self.resource = try resource.map(Self.prepareResource)
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

    private static func prepareLocal(_ raw: String) throws(JIDError.Reason) -> String {
        guard !raw.isEmpty else { throw .emptyLocalpart }
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

    private static func prepareDomain(_ raw: String) throws(JIDError.Reason) -> String {
        var domain = raw
        // RFC 7622 §3.2: a final label separator is stripped (once).
        if domain.hasSuffix(".") { domain.removeLast() }
        guard !domain.isEmpty else { throw .emptyDomain }
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

    private static func prepareResource(_ raw: String) throws(JIDError.Reason) -> String {
        guard !raw.isEmpty else { throw .emptyResource }
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
