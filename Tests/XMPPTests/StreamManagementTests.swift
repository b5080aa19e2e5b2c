import Foundation
import Testing
@testable import XMPP

/// XEP-0198 state machine: counters, wrap-around, trimming, resumption, errors and batching.
@Suite struct StreamManagementTests {
    let t0 = ContinuousClock.now

    func message(_ id: String) -> Element {
        Message.chat(to: try! JID("bob@example.org"), body: "hi", id: id).element
    }

    func sm(_ name: String, _ attributes: [String: String] = [:], _ children: [Element] = []) -> Element {
        Element(name, namespace: NS.sm, attributes: attributes, elements: children)
    }

    /// An active session with the given counters, as if restored, resumed and its queue resent.
    func active(outbound: UInt32, lastAcked: UInt32, keys: [String] = [], inbound: UInt32 = 0,
                policy: StreamManagement.AckPolicy = .init()) throws -> StreamManagement {
        var sequence = lastAcked
        let unacked = keys.map { key -> StreamManagement.Unacked in
            sequence = sequence &+ 1
            return .init(sequence: sequence, key: key)
        }
        var machine = try StreamManagement(
            snapshot: .init(id: "sm-1", resumable: true, inbound: inbound, outbound: outbound,
                            lastAcked: lastAcked, unacked: unacked),
            policy: policy)
        _ = machine.resumeRequest()
        let resend = try machine.handle(resumed: sm("resumed", ["previd": "sm-1", "h": String(lastAcked)])).unconfirmed
        for key in resend { machine.countedStanzaSent(key: key, now: t0) }
        return machine
    }

    func enabled(resume: Bool = true, policy: StreamManagement.AckPolicy = .init()) throws -> StreamManagement {
        var machine = StreamManagement(policy: policy)
        _ = machine.enableRequest(resume: resume)
        try machine.handle(enabled: sm("enabled", ["id": "sm-1", "resume": "true"]))
        return machine
    }

    // MARK: Enabling

    @Test func enable__carriesResumeAndMax__andEnabledRecordsSession() throws {
        var machine = StreamManagement()
        let enable = machine.enableRequest(resume: true, max: 300)
        #expect(enable.matches("enable", NS.sm))
        #expect(enable["resume"] == "true")
        #expect(enable["max"] == "300")
        #expect(machine.phase == .enabling)

        try machine.handle(enabled: sm("enabled", ["id": "abc", "resume": "1", "max": "600", "location": "[2001:db8::1]:5222"]))
        #expect(machine.phase == .active)
        #expect(machine.snapshot.id == "abc")
        #expect(machine.snapshot.resumable)
        #expect(machine.snapshot.max == 600)
        #expect(machine.snapshot.location == "[2001:db8::1]:5222")
    }

    @Test func location__parsesHostsAddressesAndPorts__andRejectsGarbage() {
        func endpoint(_ text: String) -> Endpoint? { StreamManagement.resumptionEndpoint(location: text, directTLS: false) }
        #expect(endpoint("[2001:db8::1]:5223") == Endpoint(host: "2001:db8::1", port: 5223, directTLS: false))
        #expect(endpoint("[2001:db8::1]") == Endpoint(host: "2001:db8::1", port: 5222, directTLS: false))
        #expect(endpoint("c2s-2.example.org:5333") == Endpoint(host: "c2s-2.example.org", port: 5333, directTLS: false))
        #expect(endpoint("192.0.2.7") == Endpoint(host: "192.0.2.7", port: 5222, directTLS: false))
        #expect(StreamManagement.resumptionEndpoint(location: "node.example", directTLS: true)?.directTLS == true)
        for bad in ["", ":5222", "2001:db8::1", "[2001:db8::1", "[2001:db8::1]5222", "[host]:1", "host:0",
                    "host:70000", "host:port", "host name:5222", "host/path:5222", "a:b:c"] {
            #expect(endpoint(bad) == nil, "\(bad)")
        }
    }

    /// A configuration that resumes `snapshot`, reached through `server` when one is set.
    func configuration(resuming snapshot: StreamManagement.Snapshot, server: Endpoint? = nil) throws -> ConnectionConfiguration {
        var configuration = ConnectionConfiguration(
            jid: try JID("alice@example.org"), resource: "r", credential: .password("pw"), endpoint: server, trust: TLSTrust())
        configuration.streamManagement = try StreamManagement(snapshot: snapshot)
        return configuration
    }

    @Test func resumptionLocation__isTriedFirst__whenNoServerIsConfigured() throws {
        let saved = StreamManagement.Snapshot(id: "s1", resumable: true, location: "c2s-2.example.org:5333")
        #expect(try configuration(resuming: saved).resumptionLocation
            == Endpoint(host: "c2s-2.example.org", port: 5333, directTLS: false))
    }

    /// RFC 6120 §3.2.3: a host the user configured bypasses discovery; the server's hint too.
    @Test func resumptionLocation__isIgnored__whenAServerIsConfigured() throws {
        let saved = StreamManagement.Snapshot(id: "s1", resumable: true, location: "c2s-2.example.org:5333")
        let tunnel = Endpoint(host: "127.0.0.1", port: 15222, directTLS: true)
        #expect(try configuration(resuming: saved, server: tunnel).resumptionLocation == nil)
    }

    @Test func resumptionLocation__isNil__whenTheSessionCannotBeResumedOrNamesNoUsablePlace() throws {
        #expect(try configuration(resuming: .init(id: "s1", resumable: false, location: "node.example")).resumptionLocation == nil)
        #expect(try configuration(resuming: .init(id: nil, resumable: true, location: "node.example")).resumptionLocation == nil)
        #expect(try configuration(resuming: .init(id: "s1", resumable: true, location: nil)).resumptionLocation == nil)
        #expect(try configuration(resuming: .init(id: "s1", resumable: true, location: "host:port")).resumptionLocation == nil)
    }

    @Test func forgetLocation__keepsEverythingElseOfTheSession() throws {
        let saved = StreamManagement.Snapshot(
            id: "s1", resumable: true, location: "node.example", max: 300, inbound: 7, outbound: 2, lastAcked: 1,
            unacked: [.init(sequence: 2, key: "o:a")], boundJID: "alice@example.org/r")
        var machine = try StreamManagement(snapshot: saved)
        machine.forgetLocation()
        var expected = saved
        expected.location = nil
        #expect(machine.snapshot == expected)
        #expect(machine.snapshot.canResume, "the session is still resumed, at the usual endpoints")
    }

    @Test func enabled__notResumable__whenWeDidNotAskOrServerRefusesOrNoID() throws {
        var notAsked = StreamManagement()
        _ = notAsked.enableRequest(resume: false)
        #expect(notAsked.enableRequest(resume: false)["resume"] == nil)
        try notAsked.handle(enabled: sm("enabled", ["id": "x", "resume": "true"]))
        #expect(!notAsked.snapshot.canResume)

        var refused = StreamManagement()
        _ = refused.enableRequest(resume: true)
        try refused.handle(enabled: sm("enabled", ["id": "x", "resume": "false"]))
        #expect(!refused.snapshot.canResume)
        #expect(refused.resumeRequest() == nil)

        var noID = StreamManagement()
        _ = noID.enableRequest(resume: true)
        try noID.handle(enabled: sm("enabled", ["resume": "true"]))
        #expect(!noID.snapshot.canResume)
    }

    @Test func enabled__withoutEnable__isUnexpected() {
        var machine = StreamManagement()
        #expect(throws: SMError.self) { try machine.handle(enabled: sm("enabled", ["id": "x"])) }
        #expect(machine.phase == .inactive)
    }

    // MARK: Counting

    @Test func stanzaSent__countsOnlyMessagePresenceIQ() throws {
        var machine = try enabled()
        #expect(machine.stanzaSent(message("m1"), key: "m1", now: t0) == 1)
        #expect(machine.stanzaSent(Presence.available().element, key: "p", now: t0) == 2)
        #expect(machine.stanzaSent(IQ.request(.get, id: "q", payload: Element("ping", namespace: NS.ping)), key: "q", now: t0) == 3)
        // Nonzas and foreign-namespace elements are not stanzas.
        #expect(machine.stanzaSent(sm("r"), key: "r", now: t0) == nil)
        #expect(machine.stanzaSent(Element("message", namespace: "jabber:server"), key: "s", now: t0) == nil)
        #expect(machine.snapshot.outbound == 3)
        #expect(machine.unackedKeys == ["m1", "p", "q"])
    }

    @Test func stanzaSent__counted__fromEnableOn_butNotWhileInactiveOrResuming() throws {
        var machine = StreamManagement()
        #expect(machine.stanzaSent(message("before"), key: "before", now: t0) == nil)
        _ = machine.enableRequest(resume: true)
        // §4: the outbound count starts when <enable/> is sent, before <enabled/>.
        #expect(machine.stanzaSent(message("early"), key: "early", now: t0) == 1)
        try machine.handle(enabled: sm("enabled", ["id": "sm-1", "resume": "true"]))
        machine.connectionLost()
        #expect(machine.stanzaSent(message("offline"), key: "offline", now: t0) == nil)
        _ = machine.resumeRequest()
        #expect(machine.stanzaSent(message("resuming"), key: "resuming", now: t0) == nil)
        #expect(machine.unackedKeys == ["early"])
    }

    @Test func stanzaReceived__countsOnlyWhenActive_andOnlyCountable() throws {
        var machine = StreamManagement()
        _ = machine.enableRequest(resume: false)
        // §4: the inbound count starts at <enabled/>.
        let beforeEnabled = machine.stanzaReceived(message("x"))
        #expect(!beforeEnabled)
        try machine.handle(enabled: sm("enabled", ["id": "a"]))
        let stanza = machine.stanzaReceived(message("a"))
        let nonza = machine.stanzaReceived(sm("r"))
        let known = machine.stanzaReceived()
        #expect(stanza && !nonza && known)
        #expect(machine.snapshot.inbound == 2)
        #expect(machine.handle(ackRequest: sm("r")) == sm("a", ["h": "2"]))
    }

    @Test func inbound__wrapsAtTwoToThe32() throws {
        var machine = try active(outbound: 0, lastAcked: 0, inbound: UInt32.max)
        #expect(machine.ackElement["h"] == "4294967295")
        machine.stanzaReceived()
        #expect(machine.snapshot.inbound == 0)
        #expect(machine.ackElement["h"] == "0")
        machine.stanzaReceived()
        #expect(machine.handle(ackRequest: sm("r"))["h"] == "1")
    }

    // MARK: Acks

    @Test func ack__trimsQueue_returnsAckedKeysInOrder() throws {
        var machine = try enabled()
        for key in ["a", "b", "c", "d"] { machine.stanzaSent(message(key), key: key, now: t0) }
        #expect(try machine.handle(ack: sm("a", ["h": "2"])) == ["a", "b"])
        #expect(machine.unackedKeys == ["c", "d"])
        #expect(machine.snapshot.lastAcked == 2)
        // A repeated h confirms nothing new.
        #expect(try machine.handle(ack: sm("a", ["h": "2"])) == [])
        #expect(try machine.handle(ack: sm("a", ["h": "4"])) == ["c", "d"])
        #expect(machine.unackedKeys.isEmpty)
    }

    @Test func ack__outboundWrapsAtTwoToThe32() throws {
        var machine = try active(outbound: UInt32.max - 1, lastAcked: UInt32.max - 1)
        #expect(machine.stanzaSent(message("x"), key: "x", now: t0) == UInt32.max)
        #expect(machine.stanzaSent(message("y"), key: "y", now: t0) == 0)
        #expect(machine.stanzaSent(message("z"), key: "z", now: t0) == 1)
        #expect(try machine.handle(ack: sm("a", ["h": "4294967295"])) == ["x"])
        #expect(try machine.handle(ack: sm("a", ["h": "1"])) == ["y", "z"])
        #expect(machine.snapshot.lastAcked == 1)
        #expect(machine.unackedKeys.isEmpty)
    }

    @Test func ack__hBeyondSent__isHandledCountTooHigh_andLeavesStateAlone() throws {
        var machine = try enabled()
        machine.stanzaSent(message("a"), key: "a", now: t0)
        machine.stanzaSent(message("b"), key: "b", now: t0)
        let before = machine
        #expect(throws: SMError.handledCountTooHigh(h: 3, sendCount: 2)) {
            try machine.handle(ack: sm("a", ["h": "3"]))
        }
        #expect(machine == before)
        let error = SMError.handledCountTooHigh(h: 3, sendCount: 2).streamError
        #expect(error.matches("error", NS.stream))
        #expect(error.child("undefined-condition", namespace: NS.streams) != nil)
        let detail = try #require(error.child("handled-count-too-high", namespace: NS.sm))
        #expect(detail["h"] == "3")
        #expect(detail["send-count"] == "2")
    }

    @Test func ack__hBeyondSent_acrossWrap__isTooHigh() throws {
        // Sent up to 0 (having wrapped); an h of 1 would claim a stanza we never sent.
        var machine = try active(outbound: UInt32.max, lastAcked: UInt32.max)
        machine.stanzaSent(message("w"), key: "w", now: t0)
        #expect(throws: SMError.handledCountTooHigh(h: 1, sendCount: 0)) {
            try machine.handle(ack: sm("a", ["h": "1"]))
        }
        // An h that went backwards is just as impossible.
        #expect(throws: SMError.self) { try machine.handle(ack: sm("a", ["h": "4294967294"])) }
        #expect(try machine.handle(ack: sm("a", ["h": "0"])) == ["w"])
    }

    @Test(arguments: [nil, "", "-1", "+1", "4294967296", "1.0", " 1", "abc"])
    func ack__badH__isAnError(raw: String?) throws {
        var machine = try enabled()
        machine.stanzaSent(message("a"), key: "a", now: t0)
        var attributes: [String: String] = [:]
        if let raw { attributes["h"] = raw }
        #expect(throws: SMError.badH(raw)) { try machine.handle(ack: sm("a", attributes)) }
        #expect(machine.unackedKeys == ["a"])
    }

    // MARK: Resumption

    @Test func resumeRequest__carriesPrevidAndInboundH() throws {
        var machine = try enabled()
        machine.stanzaReceived()
        machine.stanzaReceived()
        machine.connectionLost()
        let resume = machine.resumeRequest()
        #expect(resume == sm("resume", ["previd": "sm-1", "h": "2"]))
        #expect(machine.phase == .resuming)
    }

    @Test func resumed__trimsByH_returnsRestInOrder_renumberedAsResent() throws {
        var machine = try enabled()
        for key in ["a", "b", "c", "d", "e"] { machine.stanzaSent(message(key), key: key, now: t0) }
        _ = try machine.handle(ack: sm("a", ["h": "1"]))
        machine.connectionLost()
        _ = machine.resumeRequest()
        let resumption = try machine.handle(resumed: sm("resumed", ["previd": "sm-1", "h": "3"]))
        #expect(resumption == .init(acknowledged: ["b", "c"], unconfirmed: ["d", "e"]))
        #expect(machine.phase == .active)
        // Only what is written again is counted again: "d" is resent, "e" could not be.
        #expect(machine.snapshot.unacked.isEmpty && machine.snapshot.outbound == 3)
        machine.stanzaSent(message("d"), key: "d", now: t0)
        #expect(machine.snapshot.unacked == [.init(sequence: 4, key: "d")])
        #expect(throws: SMError.handledCountTooHigh(h: 5, sendCount: 4)) { try machine.handle(ack: sm("a", ["h": "5"])) }
        #expect(try machine.handle(ack: sm("a", ["h": "4"])) == ["d"])
    }

    @Test func resumed__previdMismatch_orTooHighH_orUnsolicited__throw() throws {
        var machine = try enabled()
        machine.stanzaSent(message("a"), key: "a", now: t0)
        #expect(throws: SMError.self) { try machine.handle(resumed: sm("resumed", ["previd": "sm-1", "h": "0"])) }
        machine.connectionLost()
        _ = machine.resumeRequest()
        #expect(throws: SMError.previdMismatch(expected: "sm-1", received: "other")) {
            try machine.handle(resumed: sm("resumed", ["previd": "other", "h": "0"]))
        }
        #expect(throws: SMError.handledCountTooHigh(h: 2, sendCount: 1)) {
            try machine.handle(resumed: sm("resumed", ["previd": "sm-1", "h": "2"]))
        }
        #expect(machine.unackedKeys == ["a"])
    }

    // MARK: Failed

    @Test func failed__withH__trimsThenForgetsSession() throws {
        var machine = try enabled()
        for key in ["a", "b", "c"] { machine.stanzaSent(message(key), key: key, now: t0) }
        machine.stanzaReceived()
        machine.connectionLost()
        _ = machine.resumeRequest()
        let failed = sm("failed", ["h": "2"], [Element("item-not-found", namespace: NS.stanzas)])
        let failure = try machine.handle(failed: failed)
        #expect(failure == .init(condition: "item-not-found", acknowledged: ["a", "b"], unconfirmed: ["c"]))
        #expect(machine.phase == .inactive)
        #expect(machine.snapshot == .init())
        #expect(machine.resumeRequest() == nil)
    }

    @Test func failed__withoutH__keepsEveryUnackedKey() throws {
        var machine = try enabled()
        for key in ["a", "b"] { machine.stanzaSent(message(key), key: key, now: t0) }
        _ = try machine.handle(ack: sm("a", ["h": "1"]))
        machine.connectionLost()
        _ = machine.resumeRequest()
        let failure = try machine.handle(failed: sm("failed"))
        #expect(failure.condition == nil)
        #expect(failure.unconfirmed == ["b"])
        #expect(machine.snapshot.id == nil)
    }

    @Test func failed__withTooHighH__throws_andKeepsQueue() throws {
        var machine = try enabled()
        machine.stanzaSent(message("a"), key: "a", now: t0)
        #expect(throws: SMError.handledCountTooHigh(h: 5, sendCount: 1)) {
            try machine.handle(failed: sm("failed", ["h": "5"]))
        }
        #expect(machine.unackedKeys == ["a"])
    }

    // MARK: Batching

    @Test func batching__afterNStanzas() throws {
        var machine = try enabled(policy: .init(stanzas: 3, interval: .seconds(60)))
        #expect(!machine.shouldRequestAck(now: t0))
        machine.stanzaSent(message("a"), key: "a", now: t0)
        machine.stanzaSent(message("b"), key: "b", now: t0)
        #expect(!machine.shouldRequestAck(now: t0))
        // Nonzas do not fill the batch.
        machine.stanzaSent(sm("a", ["h": "0"]), key: "nonza", now: t0)
        #expect(!machine.shouldRequestAck(now: t0))
        machine.stanzaSent(message("c"), key: "c", now: t0)
        #expect(machine.shouldRequestAck(now: t0))
        #expect(machine.ackRequest(now: t0) == sm("r"))
        #expect(!machine.shouldRequestAck(now: t0))
        #expect(machine.ackRequestedAt == t0)
        _ = try machine.handle(ack: sm("a", ["h": "3"]))
        #expect(machine.ackRequestedAt == nil)
    }

    @Test func batching__afterIntervalSinceOldestUnrequested() throws {
        var machine = try enabled(policy: .init(stanzas: 100, interval: .milliseconds(200)))
        machine.stanzaSent(message("a"), key: "a", now: t0)
        machine.stanzaSent(message("b"), key: "b", now: t0.advanced(by: .milliseconds(150)))
        #expect(!machine.shouldRequestAck(now: t0.advanced(by: .milliseconds(199))))
        #expect(machine.ackRequestDeadline == t0.advanced(by: .milliseconds(200)))
        #expect(machine.shouldRequestAck(now: t0.advanced(by: .milliseconds(200))))
        _ = machine.ackRequest(now: t0.advanced(by: .milliseconds(200)))
        #expect(machine.ackRequestDeadline == nil)
        // The timer restarts from the next stanza, not from the first one ever.
        let t1 = t0.advanced(by: .seconds(5))
        machine.stanzaSent(message("c"), key: "c", now: t1)
        #expect(!machine.shouldRequestAck(now: t1.advanced(by: .milliseconds(100))))
        #expect(machine.shouldRequestAck(now: t1.advanced(by: .milliseconds(200))))
    }

    @Test func batching__neverWhileNotActive() throws {
        var machine = StreamManagement(policy: .init(stanzas: 1, interval: .zero))
        _ = machine.enableRequest(resume: false)
        machine.stanzaSent(message("a"), key: "a", now: t0)
        #expect(!machine.shouldRequestAck(now: t0))
    }

    @Test func batching__resumedResends_countTowardTheBatch() throws {
        let machine = try active(outbound: 2, lastAcked: 0, keys: ["a", "b"], policy: .init(stanzas: 2, interval: .seconds(60)))
        #expect(machine.unackedKeys == ["a", "b"])
        #expect(machine.shouldRequestAck(now: t0))
    }

    // MARK: Persistence

    @Test func snapshot__codableRoundTrip_restoresResumableSession() throws {
        var machine = try enabled()
        machine.stanzaSent(message("a"), key: "outbox-1", now: t0)
        machine.stanzaSent(message("b"), key: "outbox-2", now: t0)
        machine.stanzaReceived()
        let data = try JSONEncoder().encode(machine.snapshot)
        let decoded = try JSONDecoder().decode(StreamManagement.Snapshot.self, from: data)
        #expect(decoded == machine.snapshot)

        var restored = try StreamManagement(snapshot: decoded)
        #expect(restored.phase == .inactive)
        #expect(restored.resumeRequest() == sm("resume", ["previd": "sm-1", "h": "1"]))
        #expect(try restored.handle(resumed: sm("resumed", ["previd": "sm-1", "h": "1"])).unconfirmed == ["outbox-2"])
    }

    @Test func snapshot__inconsistentQueue__isRejected() {
        #expect(throws: SMError.self) {
            _ = try StreamManagement(snapshot: .init(id: "x", outbound: 2, lastAcked: 0, unacked: [.init(sequence: 1, key: "a")]))
        }
        #expect(throws: SMError.self) {
            _ = try StreamManagement(snapshot: .init(
                id: "x", outbound: 2, lastAcked: 0, unacked: [.init(sequence: 2, key: "a"), .init(sequence: 1, key: "b")]))
        }
        // A queue spanning the wrap is consistent.
        #expect(throws: Never.self) {
            _ = try StreamManagement(snapshot: .init(
                id: "x", outbound: 0, lastAcked: UInt32.max - 1,
                unacked: [.init(sequence: UInt32.max, key: "a"), .init(sequence: 0, key: "b")]))
        }
    }
}
