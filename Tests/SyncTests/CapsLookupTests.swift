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

    // MARK: - Where a disco#info answer may be kept (§5.4)

    /// A disco#info `<query/>` as it comes off the wire (so `&lt;` is a real '<').
    func query(_ body: String) throws -> Element {
        let events = try StreamParser().feed(
            "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
                + "<query xmlns='http://jabber.org/protocol/disco#info'>\(body)</query>")
        guard case .element(let query)? = events.last else { throw XMLStreamError.notWellFormed(body) }
        return query
    }

    static let honestBody = "<identity category='client' type='pc' name='Pal'/><feature var='urn:a'/><feature var='urn:b'/><feature var='urn:c'/>"

    func ver(_ body: String) throws -> String {
        let info = try #require(EntityCapabilities.Info(query: try query(body)))
        return try EntityCapabilities.verificationString(info)
    }

    @Test func capsStorage__an_answer_that_hashes_to_what_was_advertised_is_shared() throws {
        let honest = try ver(Self.honestBody)
        guard case .shared(let ver, let info)? = ContactDetails.capsStorage(for: try query(Self.honestBody), advertised: honest) else {
            Issue.record("an honest answer is shared under its ver")
            return
        }
        #expect(ver == honest)
        #expect(info.features == ["urn:a", "urn:b", "urn:c"])
        // Asked without a caps advertisement: shared under the hash we computed.
        #expect(ContactDetails.capsStorage(for: try query(Self.honestBody), advertised: nil)?.ver == honest)
    }

    @Test func capsStorage__an_answer_that_does_not_hash_to_the_advertised_ver_is_kept_for_its_resource_under_its_own_hash() throws {
        let other = try ver("<identity category='client' type='pc'/><feature var='urn:z'/>")
        let storage = ContactDetails.capsStorage(for: try query(Self.honestBody), advertised: other)
        #expect(storage == .own(ver: try ver(Self.honestBody), features: ["urn:a", "urn:b", "urn:c"]))
        #expect(storage?.ver != other, "never under the ver it failed to match")
    }

    /// The same string S from a different answer (features regrouped as an identity or as a
    /// form) hashes alike; shared, it would show another contact's client wrongly. Only an
    /// answer that reads back from S one way only may be shared.
    @Test func capsStorage__an_answer_regrouped_to_hash_like_another_stays_with_its_resource() throws {
        let honest = try ver(Self.honestBody)
        let forgeries = [
            // The identity given as a feature: client/pc//Pal sorts before urn:a.
            "<feature var='client/pc//Pal'/><feature var='urn:a'/><feature var='urn:b'/><feature var='urn:c'/>",
            // The last two features given as a form with a field of no value.
            "<identity category='client' type='pc' name='Pal'/><feature var='urn:a'/>"
                + "<x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'><value>urn:b</value></field>"
                + "<field var='urn:c'/></x>",
        ]
        for body in forgeries {
            #expect(try ver(body) == honest, "the forgery hashes like the honest answer")
            let storage = ContactDetails.capsStorage(for: try query(body), advertised: honest)
            guard case .own(let ver, _)? = storage else {
                Issue.record("a regrouped answer must not be shared: \(String(describing: storage))")
                continue
            }
            #expect(ver == honest)
        }
    }

    @Test func capsStorage__an_ill_formed_answer_is_not_kept_at_all() throws {
        #expect(ContactDetails.capsStorage(for: try query("<identity category='client' type='pc'/><feature var='urn:a&lt;urn:b'/>"), advertised: nil) == nil)
    }
}
