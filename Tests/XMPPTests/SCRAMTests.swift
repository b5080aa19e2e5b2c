import Foundation
import Testing
@testable import XMPP

/// RFC 5802 §5 (SCRAM-SHA-1) and RFC 7677 §3 (SCRAM-SHA-256) example exchanges.
struct SCRAMTestVector: Sendable, CustomStringConvertible {
    let hash: HashAlgorithm
    let clientNonce: String
    let clientFirst: String
    let serverFirst: String
    let clientFinal: String
    let serverFinal: String
    let salt: String

    var description: String { "\(hash)" }

    static let sha1 = SCRAMTestVector(
        hash: .sha1,
        clientNonce: "fyko+d2lbbFgONRv9qkxdawL",
        clientFirst: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
        serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
        clientFinal: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
        serverFinal: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
        salt: "QSXCR+Q6sek8bf92"
    )

    static let sha256 = SCRAMTestVector(
        hash: .sha256,
        clientNonce: "rOprNGfwEbeRWgbNEkqO",
        clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
        serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        salt: "W22ZaJ0SNY7soEsUEjb6gQ=="
    )

    static let all = [sha1, sha256]
}

private func bytes(_ string: String) -> [UInt8] { Array(string.utf8) }
private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
private func decoded(_ base64: String) -> [UInt8] { Base64.decode(base64) ?? [] }

private func client(
    _ vector: SCRAMTestVector,
    credential: SCRAMCredential = .password("pencil"),
    channelBinding: ChannelBindingChoice = .none
) throws -> SCRAMClient {
    try SCRAMClient(
        hash: vector.hash, username: "user", credential: credential,
        channelBinding: channelBinding, nonce: vector.clientNonce)
}

/// A client that has sent its first message, ready for a server-first.
private func started(_ vector: SCRAMTestVector = .sha1, credential: SCRAMCredential = .password("pencil")) throws -> SCRAMClient {
    var scram = try client(vector, credential: credential)
    _ = scram.initialResponse()
    return scram
}

/// A client that has answered the server-first, ready for the server-final.
private func awaitingFinal(_ vector: SCRAMTestVector = .sha1) throws -> SCRAMClient {
    var scram = try started(vector)
    _ = try scram.respond(toChallenge: bytes(vector.serverFirst))
    return scram
}

private func expectError(_ expected: SASLError, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected \(expected), got no error")
    } catch {
        #expect(error as? SASLError == expected)
    }
}

@Suite struct SCRAMTests {
    // MARK: - RFC vectors

    @Test(arguments: SCRAMTestVector.all)
    func scram__fullExchange__matchesRFCVector(_ vector: SCRAMTestVector) throws {
        var scram = try client(vector)
        #expect(text(scram.initialResponse()) == vector.clientFirst)
        let final = try scram.respond(toChallenge: bytes(vector.serverFirst))
        #expect(text(final) == vector.clientFinal)
        #expect(scram.derivedKeys == nil, "keys are only handed out once the server proved itself")
        try scram.verify(success: bytes(vector.serverFinal))
        #expect(scram.isComplete)
        let keys = try #require(scram.derivedKeys)
        #expect(keys.salt == decoded(vector.salt))
        #expect(keys.iterations == 4096)
        #expect(keys.clientKey.count == vector.hash.digestSize)
        #expect(keys.serverKey.count == vector.hash.digestSize)
    }

    @Test(arguments: SCRAMTestVector.all)
    func scram__storedKeys__produceTheSameProofAndVerify(_ vector: SCRAMTestVector) throws {
        var first = try client(vector)
        _ = first.initialResponse()
        _ = try first.respond(toChallenge: bytes(vector.serverFirst))
        try first.verify(success: bytes(vector.serverFinal))
        let keys = try #require(first.derivedKeys)

        var again = try client(vector, credential: .keys(keys))
        _ = again.initialResponse()
        #expect(text(try again.respond(toChallenge: bytes(vector.serverFirst))) == vector.clientFinal)
        try again.verify(success: bytes(vector.serverFinal))
        #expect(again.derivedKeys == keys)
    }

    @Test func scram__serverFinalInChallenge__isVerifiedThenEmptySuccessAccepted() throws {
        var scram = try awaitingFinal()
        // Servers may send v= as a <challenge> and answer our empty <response> with a bare <success/>.
        #expect(try scram.respond(toChallenge: bytes(SCRAMTestVector.sha1.serverFinal)) == [])
        try scram.verify(success: [])
        #expect(scram.isComplete)
        #expect(scram.derivedKeys != nil)
    }

    @Test func scram__serverFinalInChallenge__thenDifferentSuccessData__fails() throws {
        var scram = try awaitingFinal()
        _ = try scram.respond(toChallenge: bytes(SCRAMTestVector.sha1.serverFinal))
        #expect(throws: SASLError.self) { try scram.verify(success: bytes("v=AAAA")) }
        #expect(!scram.isComplete)
    }

    // MARK: - Server nonce

    @Test func scram__serverNonceNotExtendingOurs__isRejected() throws {
        var scram = try started()
        expectError(.invalidServerNonce) {
            _ = try scram.respond(toChallenge: bytes("r=XXXX+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"))
        }
    }

    @Test func scram__serverNonceEqualToOurs__isRejected() throws {
        var scram = try started()
        expectError(.invalidServerNonce) {
            _ = try scram.respond(toChallenge: bytes("r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096"))
        }
    }

    // MARK: - Iteration count

    @Test(arguments: [4095, 1, 0, SCRAMClient.maximumIterations + 1])
    func scram__iterationCountOutsideRange__isRejected(_ count: Int) throws {
        var scram = try started()
        expectError(.iterationCountOutOfRange(count)) {
            _ = try scram.respond(toChallenge: bytes("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=\(count)"))
        }
    }

    @Test func scram__iterationCountOverflowingInt__isOutOfRangeNotACrash() throws {
        var scram = try started()
        #expect(throws: SASLError.iterationCountOutOfRange(Int.max)) {
            _ = try scram.respond(toChallenge: bytes("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=99999999999999999999999"))
        }
    }

    @Test func scram__iterationCountNotANumber__isMalformed() throws {
        var scram = try started()
        do {
            _ = try scram.respond(toChallenge: bytes("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=-4096"))
            Issue.record("accepted a negative iteration count")
        } catch {
            guard case .malformedChallenge = error else { Issue.record("got \(error)"); return }
        }
    }

    @Test func scram__iterationCountAtCap__isAccepted() throws {
        // Stored keys avoid running 600,000 PBKDF2 rounds in a unit test; only the range check matters here.
        let keys = SCRAMKeys(
            salt: decoded(SCRAMTestVector.sha1.salt), iterations: SCRAMClient.maximumIterations,
            clientKey: [UInt8](repeating: 1, count: 20), serverKey: [UInt8](repeating: 2, count: 20))
        var scram = try started(credential: .keys(keys))
        let final = try scram.respond(toChallenge: bytes(
            "r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=\(SCRAMClient.maximumIterations)"))
        #expect(text(final).hasPrefix("c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfc,p="))
    }

    // MARK: - Server signature

    @Test func scram__wrongServerSignature__isRejected() throws {
        var scram = try awaitingFinal()
        expectError(.serverSignatureMismatch) {
            try scram.verify(success: bytes("v=rmF9pqV8S7suAoZWja4dJRkFsKQ_"))
        }
        var other = try awaitingFinal()
        expectError(.serverSignatureMismatch) {
            // Right length, last byte off.
            try other.verify(success: bytes("v=rmF9pqV8S7suAoZWja4dJRkFsKA="))
        }
        #expect(!scram.isComplete)
        #expect(scram.derivedKeys == nil)
    }

    @Test func scram__successWithoutServerSignature__isAFailure() throws {
        var scram = try awaitingFinal()
        expectError(.missingServerSignature) { try scram.verify(success: []) }
        #expect(!scram.isComplete)
        #expect(scram.derivedKeys == nil)
    }

    @Test func scram__successBeforeAnyChallenge__isAFailure() throws {
        var scram = try started()
        expectError(.missingServerSignature) { try scram.verify(success: []) }
    }

    @Test func scram__serverErrorInFinalMessage__isReported() throws {
        var scram = try awaitingFinal()
        expectError(.serverError("invalid-proof")) { try scram.verify(success: bytes("e=invalid-proof")) }
        #expect(SASLError.serverError("invalid-proof").needsNewPassword)
    }

    @Test func scram__serverErrorInFirstMessage__isReported() throws {
        var scram = try started()
        expectError(.serverError("unknown-user")) { _ = try scram.respond(toChallenge: bytes("e=unknown-user")) }
    }

    @Test func scram__mandatoryExtension__isRejected() throws {
        var scram = try started()
        expectError(.unsupportedMandatoryExtension("42")) {
            _ = try scram.respond(toChallenge: bytes("m=42,r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=4096"))
        }
    }

    @Test(arguments: [
        "s=QSXCR+Q6sek8bf92,r=fyko+d2lbbFgONRv9qkxdawL3rfc,i=4096",   // wrong order
        "r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92",          // no i=
        "r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=!!!!,i=4096",               // salt not base64
        "r=fyko+d2lbbFgONRv9qkxdawL3rfc,,s=QSXCR+Q6sek8bf92,i=4096",  // empty attribute
        "",
    ])
    func scram__malformedServerFirst__isRejected(_ message: String) throws {
        var scram = try started()
        do {
            _ = try scram.respond(toChallenge: bytes(message))
            Issue.record("accepted '\(message)'")
        } catch {
            guard case .malformedChallenge = error else { Issue.record("got \(error)"); return }
        }
    }

    @Test func scram__afterAFailure__everyFurtherStepFails() throws {
        var scram = try started()
        _ = try? scram.respond(toChallenge: bytes("e=other-error"))
        #expect(throws: SASLError.self) { _ = try scram.respond(toChallenge: bytes(SCRAMTestVector.sha1.serverFirst)) }
        #expect(throws: SASLError.self) { try scram.verify(success: bytes(SCRAMTestVector.sha1.serverFinal)) }
        #expect(!scram.isComplete)
    }

    @Test func scram__challengeAfterSuccess__isUnexpected() throws {
        var scram = try awaitingFinal()
        try scram.verify(success: bytes(SCRAMTestVector.sha1.serverFinal))
        do {
            _ = try scram.respond(toChallenge: bytes("r=x"))
            Issue.record("accepted a challenge after success")
        } catch {
            guard case .unexpectedMessage = error else { Issue.record("got \(error)"); return }
        }
    }

    // MARK: - Stored keys

    @Test func scram__storedKeysWithDifferentSalt__areOutdated() throws {
        let keys = SCRAMKeys(
            salt: [1, 2, 3, 4], iterations: 4096,
            clientKey: [UInt8](repeating: 1, count: 20), serverKey: [UInt8](repeating: 2, count: 20))
        var scram = try started(credential: .keys(keys))
        expectError(.storedKeysOutdated) { _ = try scram.respond(toChallenge: bytes(SCRAMTestVector.sha1.serverFirst)) }
        #expect(SASLError.storedKeysOutdated.needsNewPassword)
    }

    @Test func scram__storedKeysWithDifferentIterations__areOutdated() throws {
        let keys = SCRAMKeys(
            salt: decoded(SCRAMTestVector.sha1.salt), iterations: 8192,
            clientKey: [UInt8](repeating: 1, count: 20), serverKey: [UInt8](repeating: 2, count: 20))
        var scram = try started(credential: .keys(keys))
        expectError(.storedKeysOutdated) { _ = try scram.respond(toChallenge: bytes(SCRAMTestVector.sha1.serverFirst)) }
    }

    @Test func scram__sha1KeysUsedForSHA256__areOutdated() throws {
        let keys = SCRAMKeys(
            salt: decoded(SCRAMTestVector.sha256.salt), iterations: 4096,
            clientKey: [UInt8](repeating: 1, count: 20), serverKey: [UInt8](repeating: 2, count: 20))
        var scram = try started(.sha256, credential: .keys(keys))
        expectError(.storedKeysOutdated) { _ = try scram.respond(toChallenge: bytes(SCRAMTestVector.sha256.serverFirst)) }
    }

    @Test func scramKeys__codableRoundTrip__isLossless() throws {
        let keys = SCRAMKeys(salt: [9, 8], iterations: 4096, clientKey: [1, 2, 3], serverKey: [4, 5, 6])
        let decoded = try JSONDecoder().decode(SCRAMKeys.self, from: JSONEncoder().encode(keys))
        #expect(decoded == keys)
        #expect(!"\(keys)".contains("1, 2, 3"), "descriptions must not leak key bytes")
        #expect(!"\(SCRAMCredential.password("pencil"))".contains("pencil"))
    }

    // MARK: - Channel binding (gs2 header, c=)

    @Test func gs2__noBinding__sendsNAndBiws() throws {
        var scram = try client(.sha1, channelBinding: .none)
        #expect(text(scram.initialResponse()).hasPrefix("n,,n=user,"))
        #expect(text(try scram.respond(toChallenge: bytes(SCRAMTestVector.sha1.serverFirst))).hasPrefix("c=biws,"))
        #expect(scram.mechanismName == "SCRAM-SHA-1")
    }

    @Test func gs2__notAdvertised__sendsYForDowngradeProtection() throws {
        var scram = try client(.sha1, channelBinding: .notAdvertised)
        #expect(text(scram.initialResponse()) == "y,,n=user,r=fyko+d2lbbFgONRv9qkxdawL")
        let final = text(try scram.respond(toChallenge: bytes(SCRAMTestVector.sha1.serverFirst)))
        #expect(final.hasPrefix("c=eSws,r="))  // base64("y,,")
        // The gs2 header is part of the AuthMessage: the RFC's proof (for "n,,") must not come out.
        #expect(final != SCRAMTestVector.sha1.clientFinal)
        #expect(scram.mechanismName == "SCRAM-SHA-1")
    }

    @Test func gs2__tlsExporterBinding__sendsPAndBindsTheData() throws {
        let data: [UInt8] = Array(0..<32)
        var scram = try client(.sha256, channelBinding: .binding(type: "tls-exporter", data: data))
        #expect(text(scram.initialResponse()) == "p=tls-exporter,,n=user,r=rOprNGfwEbeRWgbNEkqO")
        let final = text(try scram.respond(toChallenge: bytes(SCRAMTestVector.sha256.serverFirst)))
        let expectedC = Data(Array("p=tls-exporter,,".utf8) + data).base64EncodedString()
        #expect(final.hasPrefix("c=\(expectedC),r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p="))
        #expect(scram.mechanismName == "SCRAM-SHA-256-PLUS")
    }

    @Test func gs2__differentBindingData__changesTheProof() throws {
        var a = try client(.sha256, channelBinding: .binding(type: "tls-exporter", data: [1]))
        var b = try client(.sha256, channelBinding: .binding(type: "tls-exporter", data: [2]))
        _ = a.initialResponse()
        _ = b.initialResponse()
        let proofA = text(try a.respond(toChallenge: bytes(SCRAMTestVector.sha256.serverFirst))).split(separator: ",").last
        let proofB = text(try b.respond(toChallenge: bytes(SCRAMTestVector.sha256.serverFirst))).split(separator: ",").last
        #expect(proofA != proofB)
    }

    @Test func gs2__bindingWithoutDataOrWithBadType__isRejected() {
        #expect(throws: SASLError.self) {
            _ = try SCRAMClient(hash: .sha256, username: "u", credential: .password("p"),
                                channelBinding: .binding(type: "tls-exporter", data: []))
        }
        #expect(throws: SASLError.self) {
            _ = try SCRAMClient(hash: .sha256, username: "u", credential: .password("p"),
                                channelBinding: .binding(type: "tls,exporter", data: [1]))
        }
    }

    // MARK: - Username and nonce

    @Test func username__equalsAndComma__areEscaped() throws {
        var scram = try SCRAMClient(
            hash: .sha1, username: "a=b,c", credential: .password("p"), channelBinding: .none, nonce: "abc")
        #expect(text(scram.initialResponse()) == "n,,n=a=3Db=2Cc,r=abc")
    }

    @Test(arguments: ["", "bad\u{0}user", "line\nbreak", "esc\u{1B}[31m"])
    func username__emptyOrControlCharacters__isRejected(_ name: String) {
        #expect(throws: SASLError.self) {
            _ = try SCRAMClient(hash: .sha1, username: name, credential: .password("p"), channelBinding: .none)
        }
    }

    @Test func nonce__generated__isRandomAndPrintable() throws {
        var a = try SCRAMClient(hash: .sha256, username: "u", credential: .password("p"), channelBinding: .none)
        var b = try SCRAMClient(hash: .sha256, username: "u", credential: .password("p"), channelBinding: .none)
        let nonceA = text(a.initialResponse()).components(separatedBy: ",r=").last ?? ""
        let nonceB = text(b.initialResponse()).components(separatedBy: ",r=").last ?? ""
        #expect(nonceA.count >= 24)
        #expect(nonceA != nonceB)
        #expect(nonceA.unicodeScalars.allSatisfy { (0x21...0x7E).contains($0.value) && $0 != "," })
    }

    // MARK: - PLAIN

    @Test func plain__initialResponse__isNulSeparatedWithEmptyAuthzid() throws {
        let plain = try PlainClient(username: "juliet", password: "r0m30")
        #expect(plain.initialResponse() == [0] + Array("juliet".utf8) + [0] + Array("r0m30".utf8))
        #expect(!"\(plain)".contains("r0m30"))
    }

    @Test func plain__nulInPassword__isRejected() {
        #expect(throws: SASLError.invalidPassword("contains NUL")) {
            _ = try PlainClient(username: "juliet", password: "a\u{0}b")
        }
    }
}

/// GnuTLS wrappers against published vectors (RFC 6070 PBKDF2, RFC 4231 HMAC, FIPS 180 SHA).
@Suite struct CryptoTests {
    private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test func hash__abc__matchesFIPSVectors() throws {
        #expect(hex(try HashAlgorithm.sha1.hash(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(hex(try HashAlgorithm.sha256.hash(Array("abc".utf8)))
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex(try HashAlgorithm.sha256.hash([]))
            == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func hmac__rfc4231Case2__matches() throws {
        let mac = try HashAlgorithm.sha256.hmac(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8))
        #expect(hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func pbkdf2__rfc6070__matches() throws {
        let one = try HashAlgorithm.sha1.pbkdf2(password: Array("password".utf8), salt: Array("salt".utf8), iterations: 1)
        #expect(hex(one) == "0c60c80f961f0e71f3a9b524af6012062fe037a6")
        let many = try HashAlgorithm.sha1.pbkdf2(password: Array("password".utf8), salt: Array("salt".utf8), iterations: 4096)
        #expect(hex(many) == "4b007901b765489abead49d926f721d065a429c1")
    }

    @Test func pbkdf2__zeroIterations__throws() {
        #expect(throws: CryptoError.self) {
            _ = try HashAlgorithm.sha1.pbkdf2(password: [1], salt: [2], iterations: 0)
        }
    }

    @Test func randomBytes__twoDraws__differ() throws {
        let a = try Crypto.randomBytes(count: 16)
        let b = try Crypto.randomBytes(count: 16)
        #expect(a.count == 16)
        #expect(a != b)
    }

    @Test func constantTimeEqual__comparesContentAndLength() {
        #expect(Crypto.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!Crypto.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!Crypto.constantTimeEqual([1, 2, 3], [1, 2]))
        #expect(Crypto.constantTimeEqual([], []))
    }

    @Test func base64__emptyData__isEqualsSignBothWays() {
        #expect(Base64.encode([]) == "=")
        #expect(Base64.decode("=") == [])
        #expect(Base64.decode("") == [])
        #expect(Base64.decode(" biws\n") == Array("n,,".utf8))
        #expect(Base64.decode("b!ws") == nil)
    }
}
