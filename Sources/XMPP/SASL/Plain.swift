/// PLAIN client (RFC 4616 §2): `[authzid] NUL authcid NUL passwd`, authzid always empty.
///
/// The password crosses the wire as is, so `SASLMechanism.choose` offers PLAIN
/// only over TLS and only when we hold the password (stored SCRAM keys can't).
public struct PlainClient: Sendable, CustomStringConvertible {
    public let username: String
    private let password: String

    public init(username: String, password: String) throws(SASLError) {
        guard !username.isEmpty else { throw .invalidUsername("empty") }
        // NUL is the field separator (RFC 4616 §2: authcid and passwd exclude it).
        guard !username.unicodeScalars.contains("\0") else { throw .invalidUsername("contains NUL") }
        guard !password.isEmpty else { throw .invalidPassword("empty") }
        guard !password.unicodeScalars.contains("\0") else { throw .invalidPassword("contains NUL") }
        self.username = username
        self.password = password
    }

    /// The whole exchange: sent with `<auth mechanism='PLAIN'>`; the server answers `<success>` or `<failure>`.
    public func initialResponse() -> [UInt8] {
        [0] + Array(username.utf8) + [0] + Array(password.utf8)
    }

    public var description: String { "PlainClient(\(username), <redacted>)" }
}
