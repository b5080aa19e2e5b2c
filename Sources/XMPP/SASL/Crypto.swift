/// Hash, HMAC, PBKDF2 and randomness for SASL (RFC 5802 §2.2), on GnuTLS's crypto API.
///
/// GnuTLS is already linked for TLS, so SCRAM needs no second crypto library
/// (DESIGN §2). Every GnuTLS return code is checked and surfaces as `CryptoError`.
import CGnuTLS
import Foundation

/// A GnuTLS crypto call that failed: the function and its (negative) return code.
public struct CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    public let function: String
    public let code: Int32

    public init(function: String, code: Int32) {
        self.function = function
        self.code = code
    }

    public var description: String {
        let message = gnutls_strerror(code).map { String(cString: $0) } ?? "unknown error"
        return "\(function) failed (\(code)): \(message)"
    }
}

/// The hash functions SCRAM is registered for: SHA-1 (RFC 5802) and SHA-256 (RFC 7677).
public enum HashAlgorithm: String, Sendable, Codable, CaseIterable {
    case sha1
    case sha256

    /// Output length in bytes; also the length of SCRAM's ClientKey and ServerKey.
    public var digestSize: Int {
        switch self {
        case .sha1: 20
        case .sha256: 32
        }
    }

    private var digest: gnutls_digest_algorithm_t {
        switch self {
        case .sha1: GNUTLS_DIG_SHA1
        case .sha256: GNUTLS_DIG_SHA256
        }
    }

    private var mac: gnutls_mac_algorithm_t {
        switch self {
        case .sha1: GNUTLS_MAC_SHA1
        case .sha256: GNUTLS_MAC_SHA256
        }
    }

    /// H(data).
    public func hash(_ data: [UInt8]) throws(CryptoError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: digestSize)
        let algorithm = digest
        let code = Crypto.withPointer(data) { text, textLength in
            output.withUnsafeMutableBytes { out in
                gnutls_hash_fast(algorithm, text, textLength, out.baseAddress)
            }
        }
        guard code >= 0 else { throw CryptoError(function: "gnutls_hash_fast", code: code) }
        return output
    }

    /// HMAC(key, data).
    public func hmac(key: [UInt8], data: [UInt8]) throws(CryptoError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: digestSize)
        let algorithm = mac
        let code = Crypto.withPointer(key) { keyPointer, keyLength in
            Crypto.withPointer(data) { text, textLength in
                output.withUnsafeMutableBytes { out in
                    gnutls_hmac_fast(algorithm, keyPointer, keyLength, text, textLength, out.baseAddress)
                }
            }
        }
        guard code >= 0 else { throw CryptoError(function: "gnutls_hmac_fast", code: code) }
        return output
    }

    /// PBKDF2 with this hash's HMAC, one block long: SCRAM's Hi(password, salt, i).
    public func pbkdf2(password: [UInt8], salt: [UInt8], iterations: Int) throws(CryptoError) -> [UInt8] {
        // An iteration count the C `unsigned` cannot hold is refused as GnuTLS would refuse 0.
        guard iterations > 0, iterations <= Int(UInt32.max) else {
            throw CryptoError(function: "gnutls_pbkdf2", code: GNUTLS_E_INVALID_REQUEST)
        }
        var output = [UInt8](repeating: 0, count: digestSize)
        var passwordCopy = password
        var saltCopy = salt
        let algorithm = mac
        let count = UInt32(iterations)
        let code = Crypto.withMutablePointer(&passwordCopy) { keyPointer, keyLength in
            Crypto.withMutablePointer(&saltCopy) { saltPointer, saltLength in
                var key = gnutls_datum_t(data: keyPointer, size: UInt32(keyLength))
                var saltDatum = gnutls_datum_t(data: saltPointer, size: UInt32(saltLength))
                return output.withUnsafeMutableBytes { out in
                    gnutls_pbkdf2(algorithm, &key, &saltDatum, count, out.baseAddress, out.count)
                }
            }
        }
        // Don't leave a copy of the password behind in freed memory.
        for index in passwordCopy.indices { passwordCopy[index] = 0 }
        guard code >= 0 else { throw CryptoError(function: "gnutls_pbkdf2", code: code) }
        return output
    }
}

/// Helpers that are not tied to a hash function.
public enum Crypto {
    /// Unpredictable bytes for nonces (GNUTLS_RND_NONCE: unique and unguessable, not key material).
    public static func randomBytes(count: Int) throws(CryptoError) -> [UInt8] {
        guard count > 0 else { return [] }
        var output = [UInt8](repeating: 0, count: count)
        let code = output.withUnsafeMutableBytes { gnutls_rnd(GNUTLS_RND_NONCE, $0.baseAddress, $0.count) }
        guard code >= 0 else { throw CryptoError(function: "gnutls_rnd", code: code) }
        return output
    }

    /// Equality whose running time depends only on the lengths, so a forged
    /// server signature cannot be guessed byte by byte from timing.
    public static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }

    /// A non-null pointer even for an empty array: GnuTLS is not promised to accept NULL with length 0.
    static func withPointer<R>(_ bytes: [UInt8], _ body: (UnsafeRawPointer, Int) -> R) -> R {
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress, !buffer.isEmpty else {
                let placeholder: UInt8 = 0
                return withUnsafePointer(to: placeholder) { body(UnsafeRawPointer($0), 0) }
            }
            return body(base, buffer.count)
        }
    }

    static func withMutablePointer<R>(_ bytes: inout [UInt8], _ body: (UnsafeMutablePointer<UInt8>, Int) -> R) -> R {
        bytes.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress, !buffer.isEmpty else {
                var placeholder: UInt8 = 0
                return withUnsafeMutablePointer(to: &placeholder) { body($0, 0) }
            }
            return body(base, buffer.count)
        }
    }
}

/// Base64 as SASL data travels in XMPP (RFC 6120 §6.4.2): empty data is sent as "=".
public enum Base64 {
    public static func encode(_ bytes: [UInt8]) -> String {
        bytes.isEmpty ? "=" : Data(bytes).base64EncodedString()
    }

    /// Strict: nil on any character outside the alphabet. Surrounding XML whitespace is ignored;
    /// both "" (no data, e.g. `<success/>`) and "=" decode to empty.
    public static func decode(_ text: String) -> [UInt8]? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty || trimmed == "=" { return [] }
        return Data(base64Encoded: trimmed).map { [UInt8]($0) }
    }
}
