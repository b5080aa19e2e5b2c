import Testing
@testable import XMPP

/// XEP-0198 §3 and §5 inside stream negotiation: resume instead of bind, fall back to bind
/// and enable when resumption fails, and report the session only once `<enable/>` is answered.
@Suite struct NegotiatorStreamManagementTests {
    let alice = try! JID("alice@example.org")
    let tls = StreamNegotiator.TLSInfo(isTLS13: true, channelBindings: [:])

    func features(sm: Bool) -> String {
        "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
            + (sm ? "<sm xmlns='urn:xmpp:sm:3'/>" : "") + "</stream:features>"
    }

    func sm(_ xml: String) throws -> StreamNegotiator.Input {
        .element(try parseElement(xml))
    }

    /// A saved session: "sm-1", 3 sent and 1 acknowledged, 7 received, bound to alice@example.org/tern.
    func saved() throws -> StreamManagement {
        try StreamManagement(snapshot: .init(
            id: "sm-1", resumable: true, inbound: 7, outbound: 3, lastAcked: 1,
            unacked: [.init(sequence: 2, key: "o:a"), .init(sequence: 3, key: "o:b")], boundJID: "alice@example.org/tern"))
    }

    /// Runs a direct-TLS PLAIN login up to the post-authentication features.
    func authenticated(_ machine: StreamManagement?, sm offered: Bool = true) throws -> (StreamNegotiator, [StreamNegotiator.Action]) {
        var negotiator = StreamNegotiator(
            configuration: .init(jid: alice, resource: "tern", credential: .password("pw"), streamManagement: machine), tls: tls)
        _ = negotiator.start()
        _ = negotiator.handle(.streamOpened(attributes: [:]))
        _ = negotiator.handle(.element(try parseElement(
            "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>")))
        _ = negotiator.handle(.element(try parseElement("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")))
        _ = negotiator.handle(.streamOpened(attributes: [:]))
        let actions = negotiator.handle(.element(try parseElement(features(sm: offered))))
        return (negotiator, actions)
    }

    func established(_ actions: [StreamNegotiator.Action]) -> StreamNegotiator.Session? {
        actions.lazy.compactMap { if case .established(let session) = $0 { session } else { nil } }.first
    }

    func sent(_ actions: [StreamNegotiator.Action]) -> [Element] {
        actions.compactMap { if case .send(let element) = $0 { element } else { nil } }
    }

    func bindResult(_ id: String) throws -> StreamNegotiator.Input {
        try sm("<iq type='result' id='\(id)'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@example.org/tern2</jid></bind></iq>")
    }

    @Test func savedSession__isResumedInsteadOfBinding() throws {
        var (negotiator, actions) = try authenticated(try saved())
        // Resume, not bind: <resume previd h/> with our inbound count.
        #expect(sent(actions) == [Element("resume", namespace: NS.sm, attributes: ["previd": "sm-1", "h": "7"])])
        actions = negotiator.handle(try sm("<resumed xmlns='urn:xmpp:sm:3' previd='sm-1' h='2'/>"))
        let session = try #require(established(actions))
        // The bound JID is the saved one; only "o:b" is left for us to write again.
        #expect(session.boundJID.description == "alice@example.org/tern")
        #expect(session.start == .resumed(acknowledged: ["o:a"], unconfirmed: ["o:b"]))
        #expect(session.streamManagement?.isActive == true)
    }

    @Test func failedResumption__trimsByH_bindsEnables_andReportsTheRest() throws {
        var (negotiator, _) = try authenticated(try saved())
        var actions = negotiator.handle(try sm(
            "<failed xmlns='urn:xmpp:sm:3' h='2'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>"))
        let bind = try #require(sent(actions).first)
        #expect(bind.child("bind", namespace: NS.bind) != nil)
        actions = negotiator.handle(try bindResult(bind["id"]!))
        // <enable resume='true'/> right after the bind; no session before <enabled/>.
        #expect(sent(actions) == [Element("enable", namespace: NS.sm, attributes: ["resume": "true"])])
        #expect(established(actions) == nil)
        actions = negotiator.handle(try sm("<enabled xmlns='urn:xmpp:sm:3' id='sm-2' resume='true'/>"))
        let session = try #require(established(actions))
        #expect(session.start == .new(acknowledged: ["o:a"], unconfirmed: ["o:b"]))
        #expect(session.streamManagement?.snapshot.id == "sm-2")
        #expect(session.streamManagement?.snapshot.boundJID == "alice@example.org/tern2")
        #expect(session.streamManagement?.snapshot.outbound == 0)
    }

    @Test func resumedWithTooHighH__sendsTheStreamErrorAndFails() throws {
        var (negotiator, _) = try authenticated(try saved())
        let actions = negotiator.handle(try sm("<resumed xmlns='urn:xmpp:sm:3' previd='sm-1' h='9'/>"))
        #expect(sent(actions).first?.child("handled-count-too-high", namespace: NS.sm) != nil)
        #expect(actions.last == .fail(.streamManagement(.handledCountTooHigh(h: 9, sendCount: 3))))
    }

    @Test func resumedForAnotherSession__fails() throws {
        var (negotiator, _) = try authenticated(try saved())
        let actions = negotiator.handle(try sm("<resumed xmlns='urn:xmpp:sm:3' previd='sm-other' h='1'/>"))
        #expect(actions.last == .fail(.streamManagement(.previdMismatch(expected: "sm-1", received: "sm-other"))))
    }

    @Test func serverWithoutSM__bindsAndRunsWithout() throws {
        var (negotiator, actions) = try authenticated(try saved(), sm: false)
        let bind = try #require(sent(actions).first)
        #expect(bind.name == "iq")
        actions = negotiator.handle(try bindResult(bind["id"]!))
        let session = try #require(established(actions))
        #expect(session.streamManagement == nil)
        #expect(session.start == .new(unconfirmed: []))
    }

    @Test func enableRefused__sessionRunsWithout() throws {
        var (negotiator, actions) = try authenticated(StreamManagement())
        actions = negotiator.handle(try bindResult(sent(actions).first!["id"]!))
        actions = negotiator.handle(try sm("<failed xmlns='urn:xmpp:sm:3'/>"))
        let session = try #require(established(actions))
        #expect(session.streamManagement == nil)
    }

    @Test func noSavedSession__enablesAfterBind() throws {
        var (negotiator, actions) = try authenticated(StreamManagement())
        #expect(sent(actions).first?.name == "iq", "nothing to resume: bind")
        actions = negotiator.handle(try bindResult(sent(actions).first!["id"]!))
        #expect(sent(actions).map(\.name) == ["enable"])
        actions = negotiator.handle(try sm("<enabled xmlns='urn:xmpp:sm:3' id='sm-9' resume='1' max='300'/>"))
        let session = try #require(established(actions))
        #expect(session.streamManagement?.snapshot.canResume == true)
        #expect(session.streamManagement?.snapshot.max == 300)
    }
}
