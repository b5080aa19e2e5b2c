import Foundation
import Store
import Testing
@testable import Sync
@testable import XMPP

private let account = Account(jid: "alice@example.org", resource: "tern.t", createdAt: 0)
private let me = try! JID("alice@example.org/tern.t")

private func message(_ attributes: [String: String], _ children: [Element]) -> Element {
    Element("message", namespace: NS.client, attributes: attributes, elements: children)
}

private func body(_ text: String) -> Element { Element("body", namespace: NS.client, elements: [], text: text) }

@Suite struct IncomingMessagesTests {
    @Test func record__uses_the_delay_stamp_as_the_message_time() throws {
        let stanza = message(
            ["from": "bob@example.org/phone", "type": "chat", "id": "m1"],
            [body("sent while you were away"), Element("delay", namespace: NS.delay, attributes: ["stamp": "2024-01-02T03:04:05Z"])])
        let record = try #require(IncomingMessages.record(for: stanza, account: account, ourJID: me, receivedAt: Date()))
        #expect(record.timestamp == 1_704_164_645)
        #expect(record.conversation == "bob@example.org")
        #expect(record.sender == "bob@example.org/phone")
    }

    @Test func record__refuses_a_stranger_dressed_as_a_carbon_even_from_an_archive() {
        // What Prosody archives when a stranger sends us a fake <sent/> copy: its outer body must not pass.
        let forged = message(
            ["from": "mallory@example.org/x", "type": "chat", "id": "f1"],
            [body("outer body"), Element("sent", namespace: NS.carbons, elements: [
                Element("forwarded", namespace: NS.forward, elements: [
                    message(["from": "alice@example.org/phone", "to": "bob@example.org", "type": "chat"], [body("inner")]),
                ]),
            ])])
        #expect(IncomingMessages.record(for: forged, account: account, ourJID: me, receivedAt: Date()) == nil)
    }

    @Test func dedup_key__prefers_origin_id_then_sender_and_id() throws {
        let withOrigin = message(
            ["from": "bob@example.org/a", "type": "chat", "id": "x"], [body("hi"), StanzaID.originID("o-1")])
        let withID = message(["from": "bob@example.org/a", "type": "chat", "id": "x"], [body("hi")])
        let sameIDOtherResource = message(["from": "bob@example.org/b", "type": "chat", "id": "x"], [body("hi")])
        let r1 = try #require(IncomingMessages.record(for: withOrigin, account: account, ourJID: me, receivedAt: Date()))
        let r2 = try #require(IncomingMessages.record(for: withID, account: account, ourJID: me, receivedAt: Date()))
        let r3 = try #require(IncomingMessages.record(for: sameIDOtherResource, account: account, ourJID: me, receivedAt: Date()))
        #expect(r1.dedupKey == "o:o-1")
        #expect(r2.dedupKey == "i:bob@example.org/x")
        #expect(r2.dedupKey == r3.dedupKey)
    }

    @Test func dedup_key__without_ids_is_stable_across_runs() {
        let from = try! JID("bob@example.org")
        let a = IncomingMessages.dedupKey(from: from, id: nil, originID: nil, body: "hello", timestamp: Date(timeIntervalSince1970: 10))
        let b = IncomingMessages.dedupKey(from: from, id: nil, originID: nil, body: "hello", timestamp: Date(timeIntervalSince1970: 10))
        let c = IncomingMessages.dedupKey(from: from, id: nil, originID: nil, body: "hellp", timestamp: Date(timeIntervalSince1970: 10))
        #expect(a == b)
        #expect(a != c)
        #expect(a == "h:" + String(FNV1aReference.hash(["bob@example.org", "hello", "10"]), radix: 16))
    }

    @Test func record__ignores_what_is_not_a_conversation_message() {
        let cases: [Element] = [
            message(["from": "bob@example.org", "type": "chat"], []),  // chat state, no body
            message(["from": "bob@example.org", "type": "error", "id": "1"], [body("bounced")]),
            message(["from": "bob@example.org", "type": "headline"], [body("news")]),
            message(["type": "chat"], [body("no sender")]),
            message(["from": "not a jid@@", "type": "chat"], [body("bad sender")]),
            message(["from": "alice@example.org/other", "type": "chat"], [body("from myself")]),
        ]
        for stanza in cases {
            #expect(IncomingMessages.record(for: stanza, account: account, ourJID: me, receivedAt: Date()) == nil, "\(stanza)")
        }
    }

    @Test func answer__ping_disco_and_unknown_requests() throws {
        let ping = try #require(IQ(Element(
            "iq", namespace: NS.client, attributes: ["type": "get", "id": "p1", "from": "example.org"],
            elements: [Element("ping", namespace: NS.ping)])))
        let pong = try #require(IQAnswersFeature.answer(ping, features: SessionFeatures.advertisedFeatures))
        #expect(pong["type"] == "result")
        #expect(pong["id"] == "p1")
        #expect(pong["to"] == "example.org")

        let disco = try #require(IQ(Element(
            "iq", namespace: NS.client, attributes: ["type": "get", "id": "d1", "from": "bob@example.org/x"],
            elements: [Element("query", namespace: NS.discoInfo)])))
        let info = try #require(IQAnswersFeature.answer(disco, features: SessionFeatures.advertisedFeatures))
        let features = info.child("query", namespace: NS.discoInfo)?.children("feature", namespace: NS.discoInfo).compactMap { $0["var"] } ?? []
        #expect(features.contains(NS.ping))
        #expect(features.contains(Correction.namespace) && features.contains(Retraction.namespace), "XEP-0308 §2, XEP-0424 §2")
        #expect(info.child("query", namespace: NS.discoInfo)?.child("identity", namespace: NS.discoInfo)?["type"] == "console")

        let unknown = try #require(IQ(Element(
            "iq", namespace: NS.client, attributes: ["type": "set", "id": "u1", "from": "bob@example.org/x"],
            elements: [Element("query", namespace: "urn:example:unknown")])))
        let refusal = try #require(IQAnswersFeature.answer(unknown, features: []))
        #expect(refusal["type"] == "error")
        #expect(refusal.child("error", namespace: NS.client)?.child("service-unavailable", namespace: NS.stanzas) != nil)

        let result = try #require(IQ(Element("iq", namespace: NS.client, attributes: ["type": "result", "id": "r"])))
        #expect(IQAnswersFeature.answer(result, features: []) == nil, "results are never answered")
    }

    @Test func reconnect_policy__grows_exponentially_with_jitter_up_to_the_cap() {
        var policy = ReconnectPolicy(base: .seconds(1), cap: .seconds(30))
        let ceilings = (0..<8).map { _ in policy.nextDelay(random: { $0.upperBound }) }
        #expect(ceilings == [1, 2, 4, 8, 16, 30, 30, 30].map { Duration.seconds($0) })
        var jittered = ReconnectPolicy(base: .seconds(1), cap: .seconds(30))
        #expect(jittered.nextDelay(random: { $0.lowerBound }) == .milliseconds(500))
        policy.connected()
        #expect(policy.nextDelay(random: { $0.upperBound }) == .seconds(1))
    }

    @Test func reconnect_policy__a_flaky_link_to_a_live_server__backs_off_only_to_the_link_cap() {
        var policy = ReconnectPolicy(base: .seconds(1), cap: .seconds(60), linkCap: .seconds(4))
        let ceilings = (0..<6).map { _ in policy.nextDelay(serverReached: true, random: { $0.upperBound }) }
        #expect(ceilings == [1, 2, 4, 4, 4, 4].map { Duration.seconds($0) })
        // The server going away altogether still backs off to the full cap.
        #expect(policy.nextDelay(serverReached: false, random: { $0.upperBound }) == .seconds(60))
    }

    @Test func negotiation_faults__count_as_a_session_the_server_ended_at_once__link_faults_do_not() {
        #expect(ConnectionError.negotiation(.unexpected("<resumed> while enabling stream management")).isServerFault)
        #expect(ConnectionError.negotiation(.streamManagement(.previdMismatch(expected: "a", received: "b"))).isServerFault)
        #expect(ConnectionError.streamManagement(.handledCountTooHigh(h: 9, sendCount: 3)).isServerFault)
        // Prosody closes a resumption racing the cut link's last bytes as not-well-formed: a link fault.
        #expect(!ConnectionError.negotiation(.stream(StreamError(condition: "not-well-formed"))).isServerFault)
        #expect(!ConnectionError.negotiation(.closedByServer).isServerFault)
        #expect(!ConnectionError.closed.isServerFault)
        #expect(!ConnectionError.transport("refused").isServerFault)
    }
}

/// An independent FNV-1a written from the spec's parameters, to pin the stored key format.
enum FNV1aReference {
    static func hash(_ parts: [String]) -> UInt64 {
        var h: UInt64 = 14_695_981_039_346_656_037
        for part in parts {
            for byte in Array(part.utf8) + [0xff] {
                h ^= UInt64(byte)
                h = h &* 1_099_511_628_211
            }
        }
        return h
    }
}

@Suite struct IncomingEditsTests {
    @Test func record__marks_a_correction_with_the_id_it_replaces() throws {
        let stanza = message(
            ["from": "bob@example.org/phone", "type": "chat", "id": "m2"], [body("fixed"), Correction.replace("m1")])
        let record = try #require(IncomingMessages.record(for: stanza, account: account, ourJID: me, receivedAt: Date()))
        #expect(record.edit == EditRequest(.correction, of: "m1"))
        #expect(record.body == "fixed")
    }

    @Test func record__marks_a_retraction__which_wins_over_a_correction() throws {
        let stanza = message(
            ["from": "bob@example.org/phone", "type": "chat", "id": "r1"],
            [body(Retraction.fallbackBody), Correction.replace("m1")] + Retraction.elements(retracting: "origin-1"))
        let record = try #require(IncomingMessages.record(for: stanza, account: account, ourJID: me, receivedAt: Date()))
        #expect(record.edit == EditRequest(.retraction, of: "origin-1"))
    }

    @Test func record__an_ordinary_message_asks_no_edit() throws {
        let stanza = message(["from": "bob@example.org/phone", "type": "chat", "id": "m1"], [body("hello")])
        #expect(try #require(IncomingMessages.record(for: stanza, account: account, ourJID: me, receivedAt: Date())).edit == nil)
    }

    @Test func sent_carbon__of_our_correction__is_marked_as_ours() throws {
        let original = message(
            ["from": "alice@example.org/phone", "to": "bob@example.org", "type": "chat", "id": "c2"],
            [body("fixed"), Correction.replace("c1")])
        let record = try #require(CarbonsFeature.record(for: .sent(original), account: account, ourJID: me, receivedAt: Date()))
        #expect(record.direction == .outgoing)
        #expect(record.edit == EditRequest(.correction, of: "c1"))
    }
}
