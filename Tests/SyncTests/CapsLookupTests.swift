import Foundation
import Store
import Testing
@testable import Sync
@testable import XMPP

/// XEP-0115 caps from contacts' presence (§4, §6.2–6.3): what is recorded, and when disco#info is skipped.
@Suite struct CapsLookupTests {
    func presence(_ attributes: [String: String], caps: [String: String]?) -> Element {
        let c = caps.map { Element("c", namespace: EntityCapabilities.namespace, attributes: $0) }
        return Element("presence", namespace: NS.client, attributes: attributes, elements: c.map { [$0] } ?? [])
    }

    func row(_ stanza: Element) throws -> ResourcePresence {
        let update = try #require(PresenceExchange.update(stanza))
        return PresenceFeature.row(update, of: stanza, accountID: 7, now: 42)
    }

    @Test func row__records_node_and_ver_of_a_sha1_caps_advertisement() throws {
        let stored = try row(presence(
            ["from": "bob@example.org/desk"],
            caps: ["hash": "sha-1", "node": "https://client.example", "ver": "QgayPKawpkPSDYmwT/WM94uAlu0="]))
        #expect(stored.jid == "bob@example.org")
        #expect(stored.resource == "desk")
        #expect(stored.available)
        #expect(stored.capsNode == "https://client.example")
        #expect(stored.capsVer == "QgayPKawpkPSDYmwT/WM94uAlu0=")
        #expect(stored.updatedAt == 42)
        #expect(stored.accountID == 7)
    }

    @Test func row__ignores_caps_it_could_never_verify_and_caps_on_unavailable() throws {
        let legacy = try row(presence(["from": "bob@example.org/a"], caps: ["node": "n", "ver": "1.0"]))
        #expect(legacy.capsVer == nil, "legacy caps: ver is a version, not a hash")
        let md5 = try row(presence(["from": "bob@example.org/a"], caps: ["hash": "md5", "node": "n", "ver": "x"]))
        #expect(md5.capsVer == nil)
        let none = try row(presence(["from": "bob@example.org/a"], caps: nil))
        #expect(none.capsVer == nil && none.capsNode == nil)
        let gone = try row(presence(
            ["from": "bob@example.org/a", "type": "unavailable"], caps: ["hash": "sha-1", "node": "n", "ver": "v="]))
        #expect(!gone.available)
        #expect(gone.capsVer == nil)
    }

    @Test func capsLookup__skips_disco_only_for_a_ver_already_in_the_cache() {
        let cache: Set<String> = ["known="]
        #expect(ContactDetails.capsLookup(advertised: ("n", "known=")) { cache.contains($0) } == .cached(ver: "known="))
        #expect(
            ContactDetails.capsLookup(advertised: ("n", "new=")) { cache.contains($0) } == .query(node: "n", ver: "new="),
            "an advertised ver alone is a claim: ask node#ver and verify")
        #expect(ContactDetails.capsLookup(advertised: nil) { _ in true } == .query(node: nil, ver: nil))
    }
}
