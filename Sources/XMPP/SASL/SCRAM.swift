/// SCRAM client (RFC 5802 §5, §7; SHA-256 per RFC 7677), with -PLUS channel binding (RFC 5929, RFC 9266).
///
/// A pure value-type state machine: the caller feeds it the server's
/// challenges and success data and sends back what it returns. It never
/// touches a socket, so the RFC test vectors drive it directly.
///
/// Normalisation: full SASLprep (RFC 4013) is not applied. The username is
/// rejected if it contains control characters and `=`/`,` are escaped as
/// `=3D`/`=2C` (RFC 5802 §5.1); the password is used as the UTF-8 bytes the
/// user typed. ASCII credentials, the overwhelming case, are unaffected;
/// a non-ASCII password must be typed in the form the server stored.
import Foundation

/// What the store keeps instead of the password: enough to log in again, not enough to impersonate the server's users elsewhere.
public struct SCRAMKeys: Sendable, Codable, Equatable, CustomStringConvertible {
    public var salt: [UInt8]
    public var iterations: Int
    public var clientKey: [UInt8]
    public var serverKey: [UInt8]

    public init(salt: [UInt8], iterations: Int, clientKey: [UInt8], serverKey: [UInt8]) {
        self.salt = salt
        self.iterations = iterations
        self.clientKey = clientKey
        self.serverKey = serverKey
    }

    /// Keys are secrets: never print them into logs.
    public var description: String { "SCRAMKeys(iterations: \(iterations), <redacted>)" }
}

public enum SCRAMCredential: Sendable, CustomStringConvertible {
    case password(String)
    case keys(SCRAMKeys)

    public var description: String {
        switch self {
        case .password: "SCRAMCredential.password(<redacted>)"
        case .keys(let keys): "SCRAMCredential.keys(\(keys))"
        }
    }
}

/// The gs2 channel-binding flag of RFC 5802 §7 and the data bound to.
public enum ChannelBindingChoice: Sendable, Equatable {
    /// "n": we do not support channel binding here.
    case none
    /// "y": we support it but the server offered no -PLUS (downgrade protection).
    case notAdvertised
    /// "p=type": bind to this TLS channel; `data` comes from the TLS session.
    case binding(type: String, data: [UInt8])

    /// The gs2 header, authzid always empty.
    public var gs2Header: String {
        switch self {
        case .none: "n,,"
        case .notAdvertised: "y,,"
        case .binding(let type, _): "p=\(type),,"
        }
    }

    /// The `c=` value: base64 of the gs2 header followed by the binding data (RFC 5802 §7 `channel-binding`).
    public var channelBindingAttribute: String {
        var input = Array(gs2Header.utf8)
        if case .binding(_, let data) = self { input += data }
        return Base64.encode(input)
    }
}

public struct SCRAMClient: Sendable, CustomStringConvertible {
    /// Below 4096 is weaker than RFC 5802 §5.1 requires; the cap stops a hostile server from making us burn CPU.
    public static let minimumIterations = 4096
    public static let maximumIterations = 600_000
    public static var iterationRange: ClosedRange<Int> { minimumIterations...maximumIterations }

    private enum State: Sendable {
        case initial
        case awaitingServerFirst
        case awaitingServerFinal(expectedSignature: [UInt8], keys: SCRAMKeys)
        /// `v=` arrived in a challenge; `<success>` must follow with no or the same data.
        case verified(serverFinal: [UInt8], keys: SCRAMKeys)
        case succeeded
        case failed

        /// No keys or signatures: descriptions end up in logs.
        var name: String {
            switch self {
            case .initial: "initial"
            case .awaitingServerFirst: "awaitingServerFirst"
            case .awaitingServerFinal: "awaitingServerFinal"
            case .verified: "verified"
            case .succeeded: "succeeded"
            case .failed: "failed"
            }
        }
    }

    public let hash: HashAlgorithm
    public let channelBinding: ChannelBindingChoice
    private var credential: SCRAMCredential
    private let clientNonce: String
    private let clientFirstBare: String
    private var state: State = .initial

    /// Set once the server has proved itself (`v=` verified): what to store instead of the password.
    public private(set) var derivedKeys: SCRAMKeys?

    /// The SASL mechanism name this client speaks, e.g. "SCRAM-SHA-256-PLUS".
    public var mechanismName: String {
        let base = hash == .sha1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256"
        if case .binding = channelBinding { return base + "-PLUS" }
        return base
    }

    /// True once the server's signature has been verified and `<success>` accepted.
    public var isComplete: Bool {
        if case .succeeded = state { return true }
        return false
    }

    /// - Parameter nonce: injectable for the RFC test vectors; otherwise 24 random bytes, base64 (printable, no ',').
    public init(
        hash: HashAlgorithm,
        username: String,
        credential: SCRAMCredential,
        channelBinding: ChannelBindingChoice,
        nonce: String? = nil
    ) throws(SASLError) {
        if case .binding(let type, let data) = channelBinding {
            let allowed = type.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == ".")
            }
            guard !type.isEmpty, allowed else { throw .invalidChannelBinding("bad type name '\(type)'") }
            guard !data.isEmpty else { throw .invalidChannelBinding("no binding data for \(type)") }
        }
        let clientNonce: String
        if let nonce {
            guard !nonce.isEmpty, nonce.unicodeScalars.allSatisfy(Self.isNonceCharacter) else {
                throw .malformedChallenge("client nonce must be printable ASCII without ','")
            }
            clientNonce = nonce
        } else {
            do throws(CryptoError) {
                clientNonce = Base64.encode(try Crypto.randomBytes(count: 24))
            } catch {
                throw .crypto(error)
            }
        }
        self.hash = hash
        self.channelBinding = channelBinding
        self.credential = credential
        self.clientNonce = clientNonce
        self.clientFirstBare = "n=\(try Self.saslName(username)),r=\(clientNonce)"
    }

    public var description: String { "SCRAMClient(\(mechanismName), \(state.name))" }

    /// The client-first-message, sent with `<auth>`.
    public mutating func initialResponse() -> [UInt8] {
        if case .initial = state { state = .awaitingServerFirst }
        return Array((channelBinding.gs2Header + clientFirstBare).utf8)
    }

    /// Answers a `<challenge>`: the server-first-message gets the client-final-message;
    /// a server-final-message sent as a challenge is verified and answered with nothing.
    public mutating func respond(toChallenge challenge: [UInt8]) throws(SASLError) -> [UInt8] {
        do throws(SASLError) {
            switch state {
            case .awaitingServerFirst:
                return try clientFinal(for: challenge)
            case .awaitingServerFinal(let expected, let keys):
                try Self.checkServerFinal(challenge, expected: expected)
                state = .verified(serverFinal: challenge, keys: keys)
                return []
            case .initial:
                throw SASLError.unexpectedMessage("challenge before the initial response")
            case .verified, .succeeded, .failed:
                throw SASLError.unexpectedMessage("challenge after the exchange ended")
            }
        } catch {
            state = .failed
            throw error
        }
    }

    /// Checks `<success>`'s additional data. A success without a correct `v=` is a failure:
    /// only the signature proves the server knew our credentials.
    public mutating func verify(success additionalData: [UInt8]) throws(SASLError) {
        do throws(SASLError) {
            switch state {
            case .awaitingServerFinal(let expected, let keys):
                guard !additionalData.isEmpty else { throw SASLError.missingServerSignature }
                try Self.checkServerFinal(additionalData, expected: expected)
                derivedKeys = keys
            case .verified(let serverFinal, let keys):
                // Some servers repeat the server-final in <success>; anything else is suspect.
                guard additionalData.isEmpty || additionalData == serverFinal else {
                    throw SASLError.unexpectedMessage("success data differing from the verified server-final message")
                }
                derivedKeys = keys
            case .initial, .awaitingServerFirst:
                throw SASLError.missingServerSignature
            case .succeeded, .failed:
                throw SASLError.unexpectedMessage("success after the exchange ended")
            }
            state = .succeeded
        } catch {
            state = .failed
            throw error
        }
    }

    // MARK: - Steps

    private mutating func clientFinal(for serverFirstBytes: [UInt8]) throws(SASLError) -> [UInt8] {
        let serverFirst = try Self.decode(serverFirstBytes, what: "server-first-message")
        let attributes = try Self.attributes(serverFirst)
        guard let first = attributes.first else { throw .malformedChallenge("empty server-first-message") }
        switch first.key {
        case "m": throw .unsupportedMandatoryExtension(first.value)
        case "e": throw .serverError(first.value)
        default: break
        }
        guard attributes.count >= 3,
              attributes[0].key == "r", attributes[1].key == "s", attributes[2].key == "i"
        else { throw .malformedChallenge("server-first-message must start r=,s=,i=") }

        let nonce = attributes[0].value
        guard nonce.hasPrefix(clientNonce), nonce.utf8.count > clientNonce.utf8.count,
              nonce.unicodeScalars.allSatisfy(Self.isNonceCharacter)
        else { throw .invalidServerNonce }

        guard let salt = Self.strictBase64(attributes[1].value), !salt.isEmpty else {
            throw .malformedChallenge("salt is not base64")
        }
        let iterationText = attributes[2].value
        guard !iterationText.isEmpty, iterationText.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw .malformedChallenge("iteration count is not a number")
        }
        // Digits only, so a nil parse means it overflowed Int: out of range, not malformed.
        let iterations = Int(iterationText) ?? Int.max
        guard Self.iterationRange.contains(iterations) else { throw .iterationCountOutOfRange(iterations) }

        let keys = try makeKeys(salt: salt, iterations: iterations)
        let withoutProof = "c=\(channelBinding.channelBindingAttribute),r=\(nonce)"
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
        do throws(CryptoError) {
            let storedKey = try hash.hash(keys.clientKey)
            let clientSignature = try hash.hmac(key: storedKey, data: authMessage)
            let proof = zip(keys.clientKey, clientSignature).map { $0 ^ $1 }
            let serverSignature = try hash.hmac(key: keys.serverKey, data: authMessage)
            state = .awaitingServerFinal(expectedSignature: serverSignature, keys: keys)
            return Array("\(withoutProof),p=\(Base64.encode(proof))".utf8)
        } catch {
            throw .crypto(error)
        }
    }

    private mutating func makeKeys(salt: [UInt8], iterations: Int) throws(SASLError) -> SCRAMKeys {
        switch credential {
        case .keys(let stored):
            guard stored.salt == salt, stored.iterations == iterations,
                  stored.clientKey.count == hash.digestSize, stored.serverKey.count == hash.digestSize
            else { throw .storedKeysOutdated }
            return stored
        case .password(let password):
            do throws(CryptoError) {
                let salted = try hash.pbkdf2(password: Array(password.utf8), salt: salt, iterations: iterations)
                let keys = SCRAMKeys(
                    salt: salt,
                    iterations: iterations,
                    clientKey: try hash.hmac(key: salted, data: Array("Client Key".utf8)),
                    serverKey: try hash.hmac(key: salted, data: Array("Server Key".utf8))
                )
                // The password is no longer needed; keep only the keys.
                credential = .keys(keys)
                return keys
            } catch {
                throw .crypto(error)
            }
        }
    }

    private static func checkServerFinal(_ bytes: [UInt8], expected: [UInt8]) throws(SASLError) {
        let message = try decode(bytes, what: "server-final-message")
        let attributes = try attributes(message)
        guard let first = attributes.first else { throw .missingServerSignature }
        switch first.key {
        case "e":
            throw .serverError(first.value)
        case "v":
            guard let signature = Self.strictBase64(first.value),
                  Crypto.constantTimeEqual(signature, expected)
            else { throw .serverSignatureMismatch }
        default:
            throw .malformedChallenge("server-final-message must start with v= or e=")
        }
    }

    // MARK: - Syntax (RFC 5802 §7)

    private static func decode(_ bytes: [UInt8], what: String) throws(SASLError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .malformedChallenge("\(what) is not UTF-8")
        }
        return text
    }

    /// `attr-val *("," attr-val)`, where attr is one ASCII letter; values may contain '='.
    private static func attributes(_ message: String) throws(SASLError) -> [(key: Character, value: String)] {
        var result: [(key: Character, value: String)] = []
        for part in message.split(separator: ",", omittingEmptySubsequences: false) {
            guard part.count >= 2, let key = part.first, key.isASCII, key.isLetter,
                  part[part.index(after: part.startIndex)] == "="
            else { throw .malformedChallenge("bad attribute '\(part.prefix(16))'") }
            result.append((key, String(part.dropFirst(2))))
        }
        return result
    }

    /// Inside SCRAM messages: no whitespace tolerance, no "=" shorthand.
    private static func strictBase64(_ text: String) -> [UInt8]? {
        Data(base64Encoded: text).map { [UInt8]($0) }
    }

    /// RFC 5802 `printable`: %x21-2B / %x2D-7E.
    private static func isNonceCharacter(_ scalar: Unicode.Scalar) -> Bool {
        (0x21...0x7E).contains(scalar.value) && scalar != ","
    }

    /// RFC 5802 §5.1 saslname: `=` and `,` escaped; controls refused (full SASLprep not applied, see file comment).
    static func saslName(_ username: String) throws(SASLError) -> String {
        guard !username.isEmpty else { throw .invalidUsername("empty") }
        var escaped = ""
        for scalar in username.unicodeScalars {
            switch scalar {
            case "=": escaped += "=3D"
            case ",": escaped += "=2C"
            default:
                if scalar.properties.generalCategory == .control {
                    throw .invalidUsername("contains control character U+\(String(scalar.value, radix: 16, uppercase: true))")
                }
                escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}
