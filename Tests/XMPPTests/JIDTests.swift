import Foundation
import Testing
@testable import XMPP

private func reason(_ string: String) -> JIDError.Reason? {
    do {
        _ = try JID(string)
        return nil
    } catch {
        return error.reason
    }
}

@Suite struct JIDTests {
    // MARK: - Splitting (RFC 7622 §3.1)

    @Test func parse__fullJID__splitsIntoThreeParts() throws {
        let jid = try JID("juliet@example.com/balcony")
        #expect(jid.local == "juliet")
        #expect(jid.domain == "example.com")
        #expect(jid.resource == "balcony")
        #expect(!jid.isBare)
        #expect(jid.description == "juliet@example.com/balcony")
    }

    @Test func parse__domainOnly__hasNoLocalOrResource() throws {
        let jid = try JID("example.com")
        #expect(jid.local == nil)
        #expect(jid.resource == nil)
        #expect(jid.isBare)
        #expect(jid.description == "example.com")
    }

    @Test func parse__domainWithResource__hasNoLocal() throws {
        let jid = try JID("example.com/x")
        #expect(jid.local == nil)
        #expect(jid.resource == "x")
    }

    @Test func parse__resourceWithAtAndSlash__keepsThemInTheResource() throws {
        let jid = try JID("room@conference.example.com/nick@home/with/slashes")
        #expect(jid.local == "room")
        #expect(jid.domain == "conference.example.com")
        #expect(jid.resource == "nick@home/with/slashes")
    }

    @Test func parse__atOnlyInResource__meansNoLocalpart() throws {
        let jid = try JID("example.com/a@b")
        #expect(jid.local == nil)
        #expect(jid.domain == "example.com")
        #expect(jid.resource == "a@b")
    }

    @Test func parse__secondAtBeforeSlash__isInvalidInDomain() {
        #expect(reason("a@b@example.com") == .invalidCharacter("@", part: .domainpart))
    }

    @Test func bare__dropsTheResourceOnly() throws {
        let full = try JID("Juliet@Example.com/Balcony")
        #expect(try full.bare == JID("juliet@example.com"))
        #expect(full.bare.isBare)
        #expect(try full.bare.withResource("Garden").description == "juliet@example.com/Garden")
    }

    // MARK: - Empty parts

    @Test(arguments: [
        ("", JIDError.Reason.emptyDomain),
        ("@example.com", .emptyLocalpart),
        ("juliet@", .emptyDomain),
        ("juliet@example.com/", .emptyResource),
        ("/resource", .emptyDomain),
        (".", .emptyDomain),
        ("juliet@example..com", .emptyDomainLabel),
        ("juliet@.example.com", .emptyDomainLabel),
        ("example.com..", .emptyDomainLabel),
    ])
    func parse__emptyPart__isRejected(_ input: String, _ expected: JIDError.Reason) {
        #expect(reason(input) == expected)
    }

    // MARK: - Lengths (1…1023 bytes per part)

    @Test func localpart__1023Bytes__isAccepted() throws {
        let local = String(repeating: "a", count: 1023)
        #expect(try JID("\(local)@example.com").local?.utf8.count == 1023)
    }

    @Test func localpart__1024Bytes__isRejected() {
        #expect(reason(String(repeating: "a", count: 1024) + "@example.com") == .localpartTooLong(bytes: 1024))
    }

    @Test func localpart__lengthCountsUTF8Bytes() {
        // 512 × "é" is 512 characters but 1024 bytes.
        #expect(reason(String(repeating: "é", count: 512) + "@example.com") == .localpartTooLong(bytes: 1024))
        #expect(reason(String(repeating: "é", count: 511) + "a@example.com") == nil)
    }

    @Test func resource__1023BytesAccepted__1024Rejected() {
        #expect(reason("example.com/" + String(repeating: "r", count: 1023)) == nil)
        #expect(reason("example.com/" + String(repeating: "r", count: 1024)) == .resourceTooLong(bytes: 1024))
    }

    @Test func domain__1023BytesAccepted__1024Rejected() {
        let label = String(repeating: "d", count: 63)
        let domain = Array(repeating: label, count: 16).joined(separator: ".")  // 16×63 + 15 = 1023
        #expect(domain.utf8.count == 1023)
        #expect(reason(domain) == nil)
        #expect(reason(domain + "x") == .domainTooLong(bytes: 1024))
    }

    @Test func domain__labelOf64__isRejected() {
        let label = String(repeating: "d", count: 64)
        #expect(reason("a@\(label).com") == .domainLabelTooLong(label))
        #expect(reason("a@\(label.dropLast()).com") == nil)
    }

    // MARK: - Case and normalisation

    @Test func caseFolding__localAndDomainLowered__resourcePreserved() throws {
        let jid = try JID("ROMEO@Example.COM/Orchard")
        #expect(jid.local == "romeo")
        #expect(jid.domain == "example.com")
        #expect(jid.resource == "Orchard")
        #expect(try jid == JID("romeo@example.com/Orchard"))
        #expect(try jid != JID("romeo@example.com/orchard"))
    }

    @Test func caseFolding__nonASCII__isLowered() throws {
        #expect(try JID("ÖSTERREICH@Bücher.Example").description == "österreich@bücher.example")
    }

    @Test func normalisation__decomposedInput__isStoredComposed() throws {
        let jid = try JID("e\u{301}@example.com")
        #expect(Array(jid.local?.utf8 ?? "".utf8) == Array("\u{E9}".utf8))
    }

    @Test func domain__trailingDot__isStripped() throws {
        #expect(try JID("juliet@example.com./r").domain == "example.com")
    }

    @Test func resource__nonASCIISpace__becomesASCIISpace() throws {
        #expect(try JID("example.com/a\u{3000}b").resource == "a b")
    }

    // MARK: - Forbidden characters

    @Test(arguments: ["\"", "&", "'", ":", "<", ">", " ", "\t", "\u{7}", "\u{202E}", "\u{200B}", "\u{A0}"])
    func localpart__forbiddenCharacter__isRejected(_ character: String) {
        let result = reason("ju\(character)liet@example.com")
        guard case .invalidCharacter(_, .localpart) = result else {
            Issue.record("'\(character.unicodeScalars.first.map { String($0.value, radix: 16) } ?? "")' gave \(String(describing: result))")
            return
        }
    }

    @Test(arguments: [" ", "!", "<", "\u{0}", "\u{202E}", ",", "*"])
    func domain__forbiddenCharacter__isRejected(_ character: String) {
        guard case .invalidCharacter(_, .domainpart) = reason("a@exa\(character)mple.com") else {
            Issue.record("accepted domain with U+\(String(character.unicodeScalars.first?.value ?? 0, radix: 16))")
            return
        }
    }

    @Test(arguments: ["\u{0}", "\u{1B}", "\n", "\r", "\u{7F}", "\u{9B}"])
    func resource__controlCharacter__isRejected(_ character: String) {
        guard case .invalidCharacter(_, .resourcepart) = reason("a@example.com/x\(character)y") else {
            Issue.record("accepted resource with U+\(String(character.unicodeScalars.first?.value ?? 0, radix: 16))")
            return
        }
    }

    @Test func resource__spacesSymbolsAndEmoji__areAllowed() throws {
        let nick = "Juliet Capulet 👩‍❤️‍👨 <3 & co"
        #expect(try JID("room@conference.example.com/\(nick)").resource == nick)
    }

    // MARK: - IP literals

    @Test func domain__ipv4__isAccepted() throws {
        #expect(try JID("user@127.0.0.1/r").domain == "127.0.0.1")
    }

    @Test func domain__ipv6InBrackets__isAcceptedAndLowered() throws {
        let jid = try JID("user@[2001:DB8::1]/r")
        #expect(jid.domain == "[2001:db8::1]")
        #expect(jid.resource == "r")
        #expect(try JID("[::1]").domain == "[::1]")
    }

    @Test(arguments: ["[::1", "[]", "[zz::1]", "[1.2.3.4]", "user@[::1]x"])
    func domain__malformedIPv6__isRejected(_ input: String) {
        #expect(reason(input) != nil)
    }

    // MARK: - Construction, coding, errors

    @Test func initFromParts__preparesLikeParsing() throws {
        #expect(try JID(local: "Juliet", domain: "Example.com", resource: "R") == JID("juliet@example.com/R"))
        #expect(throws: JIDError.self) { _ = try JID(local: "a b", domain: "example.com", resource: nil) }
    }

    @Test func validating__returnsNilForInvalid() {
        #expect(JID(validating: "juliet@example.com") != nil)
        #expect(JID(validating: "@example.com") == nil)
    }

    @Test func codable__roundTripsAsAString() throws {
        let jid = try JID("juliet@example.com/balcony")
        let data = try JSONEncoder().encode([jid])
        #expect(try JSONDecoder().decode([String].self, from: data) == ["juliet@example.com/balcony"])
        #expect(try JSONDecoder().decode([JID].self, from: data) == [jid])
        #expect(throws: DecodingError.self) { _ = try JSONDecoder().decode([JID].self, from: Data(#"["@x"]"#.utf8)) }
    }

    @Test func hashable__equalJIDsCollapseInASet() throws {
        let set: Set<JID> = try [JID("A@B.c"), JID("a@b.c"), JID("a@b.c/r")]
        #expect(set.count == 2)
    }

    @Test func error__description__namesInputAndReason() {
        do {
            _ = try JID("@example.com")
            Issue.record("accepted an empty localpart")
        } catch {
            #expect(error.description == "invalid JID '@example.com': nothing before '@'")
        }
    }

    @Test func error__description__isInertAndShortForHostileInput() {
        do {
            _ = try JID("a\u{1B}[2J@example.com/" + String(repeating: "x", count: 2000))
            Issue.record("accepted ESC in localpart")
        } catch {
            #expect(!error.description.contains("\u{1B}"))
            #expect(error.description.contains("\\u{1b}"))
            #expect(error.description.count < 200)
        }
    }

    /// The ASCII fast path must give exactly what the full preparation gives, for every part.
    @Test func asciiFastPath__agrees_with_the_full_preparation() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array((0..<128).map { UInt8($0) })
        let likely = Array("abcXYZ09.-_@/ \"&'<>:\u{7f}\t".utf8)
        func sample(_ length: Int) -> String {
            String(decoding: (0..<length).map { _ in
                Bool.random(using: &generator) ? likely.randomElement(using: &generator)! : alphabet.randomElement(using: &generator)!
            }, as: UTF8.self)
        }
        func outcome(_ body: () throws -> String) -> String {
            do { return "ok " + (try body()) } catch { return "error \(error)" }
        }
        var inputs = ["alice", "Alice", "EXAMPLE.org", "example.org", "a..b", ".a", "a.", "tern.x1", String(repeating: "a", count: 64) + ".org"]
        for _ in 0..<5_000 { inputs.append(sample(Int.random(in: 1...12, using: &generator))) }
        for input in inputs {
            #expect(outcome { try JID.prepareLocal(input) } == outcome { try JID.prepareLocal(input, fastPath: false) }, "local \(input.debugDescription)")
            #expect(outcome { try JID.prepareDomain(input) } == outcome { try JID.prepareDomain(input, fastPath: false) }, "domain \(input.debugDescription)")
            #expect(outcome { try JID.prepareResource(input) } == outcome { try JID.prepareResource(input, fastPath: false) }, "resource \(input.debugDescription)")
        }
    }
}
