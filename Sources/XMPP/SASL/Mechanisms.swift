/// SASL mechanism selection (RFC 6120 §6.3.3, RFC 6120 §6.5 failures) with XEP-0440 channel-binding choice (`urn:xmpp:sasl-cb:0`).
///
/// Selection is a pure function of what the server offered and what our TLS
/// session and credential can do, so the whole decision table is testable
/// without a socket. Order of preference: a -PLUS mechanism whenever a common
/// binding type is known (SHA-256 first), then SCRAM-SHA-256, SCRAM-SHA-1, and
/// PLAIN only over TLS with a password (DESIGN §2). A type is known from the
/// server's XEP-0440 list, or without one on TLS 1.2 only (tls-unique).

/// Everything that can end a SASL exchange early, with enough context to tell the user why.
public enum SASLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server sent `e=` in a SCRAM message (RFC 5802 §7 server-error-value).
    case serverError(String)
    /// The server nonce does not extend ours, or is no longer than it.
    case invalidServerNonce
    /// The SCRAM iteration count is outside `SCRAMClient.iterationRange`.
    case iterationCountOutOfRange(Int)
    /// The server's `v=` did not match: it does not know our credentials (or someone is in the middle).
    case serverSignatureMismatch
    /// The exchange ended with `<success>` but no `v=` to prove the server knows our credentials.
    case missingServerSignature
    /// A SCRAM message that does not follow the RFC 5802 §7 grammar.
    case malformedChallenge(String)
    /// The server demanded a mandatory extension (`m=`) we do not implement.
    case unsupportedMandatoryExtension(String)
    /// A challenge or success arrived when the exchange was not expecting one.
    case unexpectedMessage(String)
    /// None of the offered mechanisms is acceptable for this connection and credential.
    case noAcceptableMechanism(offered: [String])
    /// The server announced channel-binding types (XEP-0440) but no -PLUS mechanism: stripped on the way?
    case channelBindingDowngrade
    /// Stored SCRAM keys were made for another salt, iteration count or hash; the password is needed again.
    case storedKeysOutdated
    /// The username cannot be sent (empty, or a control character).
    case invalidUsername(String)
    /// The password cannot be sent with this mechanism (e.g. a NUL byte in PLAIN).
    case invalidPassword(String)
    /// The channel-binding type or data handed to SCRAM is unusable.
    case invalidChannelBinding(String)
    /// GnuTLS failed to hash, derive or produce random bytes.
    case crypto(CryptoError)
    /// The server's `<failure/>` (RFC 6120 §6.5): its condition element name and optional text.
    case failure(condition: String, text: String?)

    /// True when asking the user for the password again is the way forward.
    public var needsNewPassword: Bool {
        switch self {
        case .storedKeysOutdated: true
        case .failure(let condition, _): condition == "not-authorized" || condition == "credentials-expired"
        case .serverError(let value): value == "invalid-proof" || value == "unknown-user"
        default: false
        }
    }

    public var description: String {
        switch self {
        case .serverError(let value): "authentication failed: server reported '\(value)'"
        case .invalidServerNonce: "authentication aborted: the server's nonce does not extend ours"
        case .iterationCountOutOfRange(let count):
            "authentication aborted: iteration count \(count) outside \(SCRAMClient.iterationRange.lowerBound)…\(SCRAMClient.iterationRange.upperBound)"
        case .serverSignatureMismatch: "authentication aborted: the server could not prove it knows the password"
        case .missingServerSignature: "authentication aborted: the server sent no proof that it knows the password"
        case .malformedChallenge(let what): "authentication aborted: malformed server message (\(what))"
        case .unsupportedMandatoryExtension(let ext): "authentication aborted: unsupported mandatory SCRAM extension '\(ext)'"
        case .unexpectedMessage(let what): "authentication aborted: unexpected \(what)"
        case .noAcceptableMechanism(let offered):
            "no acceptable authentication mechanism (server offers: \(offered.isEmpty ? "none" : offered.joined(separator: ", ")))"
        case .channelBindingDowngrade:
            "authentication aborted: server announced channel binding but no -PLUS mechanism (possible downgrade attack)"
        case .storedKeysOutdated: "the stored login keys no longer match the server; enter the password again"
        case .invalidUsername(let why): "invalid username: \(why)"
        case .invalidPassword(let why): "invalid password: \(why)"
        case .invalidChannelBinding(let why): "invalid channel binding: \(why)"
        case .crypto(let error): "authentication aborted: \(error)"
        case .failure(let condition, let text):
            Self.explain(condition) + (text.map { " (server says: \($0))" } ?? "")
        }
    }

    private static func explain(_ condition: String) -> String {
        switch condition {
        case "not-authorized": "wrong username or password"
        case "account-disabled": "the account is disabled"
        case "credentials-expired": "the password has expired"
        case "encryption-required": "the server requires encryption for this mechanism"
        case "invalid-authzid", "invalid-mechanism", "incorrect-encoding", "malformed-request":
            "the server rejected the login request (\(condition))"
        case "mechanism-too-weak": "the server considers the mechanism too weak"
        case "temporary-auth-failure": "temporary authentication failure; try again later"
        case "aborted": "authentication aborted"
        default: "authentication failed (\(condition))"
        }
    }

    /// Reads a `<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>`; an unknown or missing condition becomes `not-authorized` (RFC 6120 §6.5).
    public init(failure element: Element) {
        let condition = element.elements.first { $0.namespace == NS.sasl && $0.name != "text" }?.name
        let text = element.childText("text", namespace: NS.sasl).flatMap { $0.isEmpty ? nil : $0 }
        self = .failure(condition: condition ?? "not-authorized", text: text)
    }
}

/// What the user's credential can do: a password works everywhere, stored SCRAM keys only for their own hash.
public enum SASLCredentialKind: Sendable, Equatable {
    case password
    case scramKeys(HashAlgorithm)
}

/// The mechanisms tern implements; `allCases` lists them strongest first.
public enum SASLMechanism: String, Sendable, CaseIterable {
    case scramSHA256Plus = "SCRAM-SHA-256-PLUS"
    case scramSHA256 = "SCRAM-SHA-256"
    case scramSHA1Plus = "SCRAM-SHA-1-PLUS"
    case scramSHA1 = "SCRAM-SHA-1"
    case plain = "PLAIN"

    /// The SCRAM hash, nil for PLAIN.
    public var hash: HashAlgorithm? {
        switch self {
        case .scramSHA256Plus, .scramSHA256: .sha256
        case .scramSHA1Plus, .scramSHA1: .sha1
        case .plain: nil
        }
    }

    public var usesChannelBinding: Bool { self == .scramSHA256Plus || self == .scramSHA1Plus }

    /// The channel-binding decision, before the TLS session is asked for the binding data.
    public enum ChannelBindingPlan: Sendable, Equatable {
        /// gs2 "n": we cannot bind here (no TLS, nothing available, or the server's -PLUS types don't match ours).
        case none
        /// gs2 "y": we could bind but the server offered no -PLUS, so a stripped -PLUS will be detected.
        case notAdvertised
        /// gs2 "p=<type>": bind with this type (RFC 5929 / RFC 9266 name).
        case bind(type: String)

        /// The SCRAM input once the data for a `.bind` type has been obtained from TLS.
        public func choice(data: [UInt8]) -> ChannelBindingChoice {
            switch self {
            case .none: .none
            case .notAdvertised: .notAdvertised
            case .bind(let type): .binding(type: type, data: data)
            }
        }
    }

    public struct Choice: Sendable, Equatable {
        public let mechanism: SASLMechanism
        public let channelBinding: ChannelBindingPlan

        public init(mechanism: SASLMechanism, channelBinding: ChannelBindingPlan) {
            self.mechanism = mechanism
            self.channelBinding = channelBinding
        }
    }

    /// Picks the mechanism and channel binding for this connection.
    ///
    /// - Parameters:
    ///   - offered: the server's `<mechanism>` names.
    ///   - tlsActive: the stream is encrypted; PLAIN and any binding require it.
    ///   - tlsVersion13: the session runs TLS 1.3 (tls-unique is undefined there).
    ///   - channelBindingsOffered: XEP-0440 `<channel-binding type>` values, nil when not announced:
    ///     then TLS 1.2 binds with tls-unique and TLS 1.3 does not bind at all.
    ///   - availableBindings: types our TLS session can actually produce. The caller lists
    ///     tls-exporter on TLS 1.2 only with extended master secret (RFC 9266 §3).
    ///   - credential: what we hold; stored SCRAM keys cannot do PLAIN or another hash.
    public static func choose(
        offered: [String],
        tlsActive: Bool,
        tlsVersion13: Bool,
        channelBindingsOffered: [String]?,
        availableBindings: [String],
        credential: SASLCredentialKind
    ) throws(SASLError) -> Choice {
        let offeredSet = Set(offered.map { $0.uppercased() })
        let usable = tlsActive ? usableBindings(availableBindings, tlsVersion13: tlsVersion13) : []
        let anyPlusOffered = allCases.contains { $0.usesChannelBinding && offeredSet.contains($0.rawValue) }

        if !usable.isEmpty, let announced = channelBindingsOffered, !announced.isEmpty, !anyPlusOffered {
            throw .channelBindingDowngrade
        }

        let bindingType: String? = if let announced = channelBindingsOffered {
            usable.first { announced.contains($0) }
        } else if tlsVersion13 {
            // Without XEP-0440 on TLS 1.3 the server's type is a guess, and a wrong guess fails the login:
            // ejabberd before 24.02 computes tls-unique there. Not binding (gs2 "n") is what works.
            nil
        } else {
            // On TLS 1.2 every server that offers -PLUS knows tls-unique (RFC 5929, RFC 5802's default).
            usable.first { $0 == "tls-unique" }
        }

        // "y" only when the server showed no -PLUS at all; otherwise an honest server would see a downgrade.
        let withoutBinding: ChannelBindingPlan = (usable.isEmpty || anyPlusOffered) ? .none : .notAdvertised

        let candidates = allCases.filter { mechanism in
            guard offeredSet.contains(mechanism.rawValue) else { return false }
            guard let hash = mechanism.hash else { return tlsActive && credential == .password }
            if case .scramKeys(let keyHash) = credential { return keyHash == hash }
            return true
        }
        // Binding outranks hash strength (DESIGN §2): SCRAM-SHA-1-PLUS beats SCRAM-SHA-256.
        if let bindingType, let plus = candidates.first(where: \.usesChannelBinding) {
            return Choice(mechanism: plus, channelBinding: .bind(type: bindingType))
        }
        if let scram = candidates.first(where: { $0.hash != nil && !$0.usesChannelBinding }) {
            return Choice(mechanism: scram, channelBinding: withoutBinding)
        }
        if candidates.contains(.plain) {
            return Choice(mechanism: .plain, channelBinding: .none)
        }
        throw .noAcceptableMechanism(offered: offered)
    }

    /// Our available types that are defined for this TLS version, strongest first.
    static func usableBindings(_ available: [String], tlsVersion13: Bool) -> [String] {
        let preference = tlsVersion13
            ? ["tls-exporter", "tls-server-end-point"]
            : ["tls-exporter", "tls-unique", "tls-server-end-point"]
        let known = preference.filter { available.contains($0) }
        // Types we don't rank keep their order after ours; tls-unique never on TLS 1.3 (RFC 9266 §2).
        let others = available.filter { !preference.contains($0) && $0 != "tls-unique" }
        return known + others
    }

    /// The `<mechanism>` names inside a features element's `<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>`.
    public static func offeredNames(in features: Element) -> [String] {
        guard let mechanisms = features.child("mechanisms", namespace: NS.sasl) else { return [] }
        return mechanisms.children("mechanism", namespace: NS.sasl)
            .map { $0.text.trimmingWhitespace() }
            .filter { !$0.isEmpty }
    }

    /// The XEP-0440 `<sasl-channel-binding>` types in a features element, nil when it is absent.
    public static func channelBindingTypes(in features: Element) -> [String]? {
        guard let element = features.child("sasl-channel-binding", namespace: NS.saslChannelBinding) else { return nil }
        return element.children("channel-binding", namespace: NS.saslChannelBinding).compactMap { $0["type"] }
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[start...end])
    }
}
