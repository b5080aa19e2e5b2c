import Testing
@testable import Sync
@testable import XMPP

/// What the user is told of a stanza the parser skipped (DESIGN §6), and what a request gets.
@Suite struct DroppedStanzasTests {
    func message(_ attributes: [String: String], _ children: [Element] = []) -> Element {
        Element("message", namespace: NS.client, attributes: attributes, elements: children)
    }

    @Test func report__ofAnArchivedMessage__namesTheForwardedSender() {
        let inner = message(["from": "mallory@evil.example/r"])
        let result = Element("result", namespace: NS.mam, attributes: ["id": "r1"], elements: [
            Element("forwarded", namespace: NS.forward, elements: [inner]),
        ])
        let report = DroppedStanzaReport(DroppedStanza(
            name: "message", partial: message(["from": "me@example.org"], [result]), reason: "too deep"))
        #expect(report == DroppedStanzaReport(kind: "archived message", from: "mallory@evil.example/r", reason: "too deep"))
    }

    @Test func report__ofACarbon__isACarbonCopy_fromTheOriginalSender() {
        let sent = Element("received", namespace: NS.carbons, elements: [
            Element("forwarded", namespace: NS.forward, elements: [message(["from": "bob@example.org/p"])]),
        ])
        let report = DroppedStanzaReport(DroppedStanza(name: "message", partial: message(["from": "me@example.org"], [sent]), reason: "r"))
        #expect(report.kind == "carbon copy" && report.from == "bob@example.org/p")
    }

    @Test func report__withNothingRead__usesTheLexedName() {
        let report = DroppedStanzaReport(DroppedStanza(name: "presence", partial: nil, reason: "r"))
        #expect(report == DroppedStanzaReport(kind: "presence", from: nil, reason: "r"))
    }

    @Test func reply__answersARequest_withPolicyViolation_andNothingElse() throws {
        let get = Element("iq", namespace: NS.client, attributes: ["type": "get", "id": "q1", "from": "eve@example.org/x"])
        let reply = try #require(DroppedStanzaReport.reply(to: DroppedStanza(name: "iq", partial: get, reason: "r")))
        #expect(reply["type"] == "error" && reply["id"] == "q1" && reply["to"] == "eve@example.org/x")
        #expect(reply.child("error", namespace: NS.client)?.child("policy-violation", namespace: NS.stanzas) != nil)
        let result = Element("iq", namespace: NS.client, attributes: ["type": "result", "id": "q2"])
        #expect(DroppedStanzaReport.reply(to: DroppedStanza(name: "iq", partial: result, reason: "r")) == nil)
        #expect(DroppedStanzaReport.reply(to: DroppedStanza(name: "iq", partial: nil, reason: "r")) == nil)
        #expect(DroppedStanzaReport.reply(to: DroppedStanza(name: "message", partial: message([:]), reason: "r")) == nil)
    }
}
