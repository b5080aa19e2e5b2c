/// XEP-0410 §3.2: the self-ping request and the verdict table for its replies.
import Testing
@testable import XMPP

@Suite struct SelfPingTests {
    private func errorReply(_ condition: String, type: String = "cancel") throws -> Element {
        try parseElement(
            "<iq from='characters@chat.shakespeare.lit/JuliC' id='s2c1' type='error' to='juliet@capulet.lit/client'>"
                + "<error type='\(type)' by='characters@chat.shakespeare.lit'><\(condition) xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")
    }

    @Test func request__is_a_ping_to_our_occupant_jid() throws {
        let iq = try wire(SelfPing.request(occupant: try JID("characters@chat.shakespeare.lit/JuliC"), id: "s2c1"))
        #expect(iq["type"] == "get")
        #expect(iq["id"] == "s2c1")
        #expect(iq["to"] == "characters@chat.shakespeare.lit/JuliC")
        #expect(iq.child("ping", namespace: NS.ping) != nil)
    }

    @Test func verdict__result_is_joined() throws {
        let result = try parseElement("<iq from='characters@chat.shakespeare.lit/JuliC' id='s2c1' type='result'/>")
        #expect(SelfPing.verdict(reply: result) == .joined)
    }

    @Test func verdict__table_of_errors() throws {
        let table: [(String, SelfPing.Verdict)] = [
            ("service-unavailable", .joined),
            ("feature-not-implemented", .joined),
            ("item-not-found", .joined),
            ("remote-server-not-found", .inconclusive),
            ("remote-server-timeout", .inconclusive),
            ("not-acceptable", .notJoined),
            ("not-allowed", .notJoined),
            ("bad-request", .notJoined),
            ("forbidden", .notJoined),
            ("internal-server-error", .notJoined),
        ]
        for (condition, verdict) in table {
            #expect(SelfPing.verdict(reply: try errorReply(condition)) == verdict, "\(condition)")
        }
    }

    @Test func verdict__error_without_condition_is_not_joined() throws {
        let reply = try parseElement("<iq id='s2c1' type='error'><error type='cancel'/></iq>")
        #expect(SelfPing.verdict(reply: reply) == .notJoined)
    }

    @Test func verdict__timeout_or_malformed_reply_is_inconclusive() throws {
        #expect(SelfPing.verdict(reply: nil) == .inconclusive)
        #expect(SelfPing.verdict(reply: try parseElement("<iq id='s2c1'/>")) == .inconclusive)
        #expect(SelfPing.verdict(reply: try parseElement("<iq id='s2c1' type='get'><ping xmlns='urn:xmpp:ping'/></iq>")) == .inconclusive)
        #expect(SelfPing.verdict(reply: try parseElement("<message type='error'/>")) == .inconclusive)
    }
}
