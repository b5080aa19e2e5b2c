import Testing
@testable import XMPP

/// A minimal SCRAM server (RFC 5802 §3), enough to drive the negotiator through real exchanges.
private struct SCRAMServer {
    let hash: HashAlgorithm
    let password: String
    let salt: [UInt8] = Array("QSXCR+Q6sek8bf92".utf8)
    let iterations = 4096
    var authMessage = ""
    var forgeSignature = false

    init(hash: HashAlgorithm, password: String) {
        self.hash = hash
        self.password = password
    }

    mutating func serverFirst(clientFirst: [UInt8]) -> [UInt8] {
        let text = String(decoding: clientFirst, as: UTF8.self)
        let bare = text.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)[2]
        let nonce = bare.split(separator: ",").first { $0.hasPrefix("r=") }!.dropFirst(2)
        let first = "r=\(nonce)server-part,s=\(Base64.encode(salt)),i=\(iterations)"
        authMessage = "\(bare),\(first)"
        return Array(first.utf8)
    }

    mutating func serverFinal(clientFinal: [UInt8]) throws -> [UInt8] {
        let text = String(decoding: clientFinal, as: UTF8.self)
        let withoutProof = String(text[..<text.range(of: ",p=")!.lowerBound])
        authMessage += ",\(withoutProof)"
        let salted = try hash.pbkdf2(password: Array(password.utf8), salt: salt, iterations: iterations)
        let serverKey = try hash.hmac(key: salted, data: Array("Server Key".utf8))
        var signature = try hash.hmac(key: serverKey, data: Array(authMessage.utf8))
        if forgeSignature { signature[0] ^= 1 }
        return Array("v=\(Base64.encode(signature))".utf8)
    }
}


private let startTLSFeatures = """
    <stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>\
    <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>
    """

private func saslFeatures(_ mechanisms: [String]) -> String {
    "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
        + mechanisms.map { "<mechanism>\($0)</mechanism>" }.joined() + "</mechanisms></stream:features>"
}

private let bindFeatures = """
    <stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>\
    <session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session><sm xmlns='urn:xmpp:sm:3'/></stream:features>
    """

private let tls13 = StreamNegotiator.TLSInfo(isTLS13: true, channelBindings: ["tls-exporter": Array(repeating: 7, count: 32)])
private let alice = try! JID("alice@example.org")

private func sent(_ actions: [StreamNegotiator.Action]) -> [Element] {
    actions.compactMap { if case .send(let element) = $0 { element } else { nil } }
}

private func failure(_ actions: [StreamNegotiator.Action]) -> StreamNegotiator.NegotiationError? {
    actions.lazy.compactMap { if case .fail(let error) = $0 { error } else { nil } }.first
}

/// Walks a negotiator to the point where it has sent `<auth>` over TLS, and returns that element.
private func negotiateToAuth(_ negotiator: inout StreamNegotiator, mechanisms: [String]) throws -> Element? {
    _ = negotiator.start()
    _ = negotiator.handle(.streamOpened(attributes: ["id": "s1"]))
    let tlsRequest = negotiator.handle(.element(try parseElement(startTLSFeatures)))
    #expect(sent(tlsRequest).map(\.name) == ["starttls"])
    #expect(negotiator.handle(.element(try parseElement("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"))) == [.startTLS])
    #expect(negotiator.handle(.tlsEstablished(tls13)) == [.openStream(restartParser: true)])
    _ = negotiator.handle(.streamOpened(attributes: ["id": "s2"]))
    let actions = negotiator.handle(.element(try parseElement(saslFeatures(mechanisms))))
    return sent(actions).first
}

@Suite struct NegotiatorTests {
    @Test func negotiation__starttls_scram_bind__establishes_the_session_and_derives_keys() throws {
        var negotiator = StreamNegotiator(configuration: .init(jid: alice, resource: "tern.x", credential: .password("secret")))
        #expect(negotiator.start() == [.openStream(restartParser: false)])
        let auth = try #require(try negotiateToAuth(&negotiator, mechanisms: ["SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN"]))
        // The strongest SCRAM offered; TLS 1.3 without XEP-0440 has no binding the server offered, so "y".
        #expect(auth["mechanism"] == "SCRAM-SHA-256")
        let clientFirst = try #require(Base64.decode(auth.text))
        #expect(String(decoding: clientFirst, as: UTF8.self).hasPrefix("y,,n=alice,r="))

        var server = SCRAMServer(hash: .sha256, password: "secret")
        let challenge = server.serverFirst(clientFirst: clientFirst)
        let response = try #require(sent(negotiator.handle(.element(try parseElement(
            "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\(Base64.encode(challenge))</challenge>")))).first)
        #expect(response.name == "response")
        let final = try server.serverFinal(clientFinal: try #require(Base64.decode(response.text)))
        let afterSuccess = negotiator.handle(.element(try parseElement(
            "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\(Base64.encode(final))</success>")))
        #expect(afterSuccess == [.openStream(restartParser: true)], "a fresh stream, and a fresh parser, after SASL")

        _ = negotiator.handle(.streamOpened(attributes: ["id": "s3"]))
        let bind = try #require(sent(negotiator.handle(.element(try parseElement(bindFeatures)))).first)
        #expect(bind["type"] == "set")
        #expect(bind.child("bind", namespace: NS.bind)?.childText("resource", namespace: NS.bind) == "tern.x")
        let result = negotiator.handle(.element(try parseElement(
            "<iq type='result' id='\(bind["id"]!)'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@example.org/tern.x</jid></bind></iq>")))
        guard case .established(let session)? = result.first else {
            Issue.record("not established: \(result)")
            return
        }
        #expect(session.boundJID.description == "alice@example.org/tern.x")
        #expect(session.mechanism == "SCRAM-SHA-256")
        #expect(session.keysHash == .sha256)
        #expect(session.derivedKeys?.iterations == 4096)
        #expect(session.features.child("sm", namespace: NS.sm) != nil, "post-auth features are kept for SM")
        #expect(negotiator.isFinished)
    }

    /// ejabberd 23.01's offer (no XEP-0440) on each TLS version: the session says what was bound,
    /// so `tern login` can show it.
    @Test(arguments: [
        (StreamNegotiator.TLSInfo(isTLS13: false, channelBindings: ["tls-unique": Array(repeating: 9, count: 12)]),
         "p=tls-unique,,", "SCRAM-SHA-1-PLUS", "tls-unique" as String?),
        (tls13, "n,,", "SCRAM-SHA-1", nil),
    ])
    func negotiation__ejabberds_offer__reports_mechanism_binding_and_tls_version(
        tls: StreamNegotiator.TLSInfo, gs2Header: String, mechanism: String, binding: String?
    ) throws {
        var negotiator = StreamNegotiator(configuration: .init(jid: alice, resource: "r", credential: .password("secret")), tls: tls)
        _ = negotiator.start()
        _ = negotiator.handle(.streamOpened(attributes: [:]))
        let auth = try #require(sent(negotiator.handle(.element(try parseElement(
            saslFeatures(["SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "PLAIN"]))))).first)
        #expect(auth["mechanism"] == mechanism)
        let clientFirst = try #require(Base64.decode(auth.text))
        #expect(String(decoding: clientFirst, as: UTF8.self).hasPrefix(gs2Header + "n=alice,r="))

        var server = SCRAMServer(hash: .sha1, password: "secret")
        let challenge = server.serverFirst(clientFirst: clientFirst)
        let response = try #require(sent(negotiator.handle(.element(try parseElement(
            "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\(Base64.encode(challenge))</challenge>")))).first)
        let final = try server.serverFinal(clientFinal: try #require(Base64.decode(response.text)))
        _ = negotiator.handle(.element(try parseElement(
            "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\(Base64.encode(final))</success>")))
        _ = negotiator.handle(.streamOpened(attributes: [:]))
        let bind = try #require(sent(negotiator.handle(.element(try parseElement(bindFeatures)))).first)
        let result = negotiator.handle(.element(try parseElement(
            "<iq type='result' id='\(bind["id"]!)'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@example.org/r</jid></bind></iq>")))
        let enabled = negotiator.handle(.element(try parseElement("<enabled xmlns='urn:xmpp:sm:3' id='sm1' resume='true'/>")))
        guard case .established(let session)? = (result + enabled).first(where: { if case .established = $0 { true } else { false } }) else {
            Issue.record("not established: \(result + enabled)")
            return
        }
        #expect(session.mechanism == mechanism)
        #expect(session.channelBinding == binding)
        #expect(session.isTLS13 == tls.isTLS13)
    }

    @Test func negotiation__without_starttls__aborts_before_any_auth() throws {
        var negotiator = StreamNegotiator(configuration: .init(jid: alice, resource: nil, credential: .password("secret")))
        _ = negotiator.start()
        _ = negotiator.handle(.streamOpened(attributes: [:]))
        let actions = negotiator.handle(.element(try parseElement(saslFeatures(["PLAIN", "SCRAM-SHA-1"]))))
        #expect(sent(actions).isEmpty, "nothing, and certainly no <auth>, goes out in plaintext")
        #expect(failure(actions) == .tlsNotOffered)
    }

    @Test func negotiation__features_before_tls_are_not_reused_after_it() throws {
        var negotiator = StreamNegotiator(configuration: .init(jid: alice, resource: nil, credential: .password("secret")))
        _ = negotiator.start()
        _ = negotiator.handle(.streamOpened(attributes: [:]))
        _ = negotiator.handle(.element(try parseElement(startTLSFeatures)))
        _ = negotiator.handle(.element(try parseElement("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")))
        _ = negotiator.handle(.tlsEstablished(tls13))
        // A stanza before the new stream's features is out of order: fail rather than guess.
        let early = negotiator.handle(.element(try parseElement("<message><body>hi</body></message>")))
        #expect(failure(early) != nil)
    }

    @Test func negotiation__refused_starttls_fails() throws {
        var negotiator = StreamNegotiator(configuration: .init(jid: alice, resource: nil, credential: .password("secret")))
        _ = negotiator.start()
        _ = negotiator.handle(.streamOpened(attributes: [:]))
        _ = negotiator.handle(.element(try parseElement(startTLSFeatures)))
        let actions = negotiator.handle(.element(try parseElement("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")))
        #expect(failure(actions) == .tlsRefused)
    }

    @Test func negotiation__plain_only_over_tls_and_only_with_a_password() throws {
        var withPassword = StreamNegotiator(configuration: .init(jid: alice, resource: nil, credential: .password("pw")))
        let auth = try #require(try negotiateToAuth(&withPassword, mechanisms: ["PLAIN"]))
        #expect(auth["mechanism"] == "PLAIN")
        #expect(Base64.decode(auth.text) == Array("\0alice\0pw".utf8))

        let keys = SCRAMKeys(salt: [1], iterations: 4096, clientKey: Array(repeating: 1, count: 20), serverKey: Array(repeating: 2, count: 20))
        var withKeys = StreamNegotiator(configuration: .init(jid: alice, resource: nil, credential: .scramKeys(keys, hash: .sha1)))
        _ = withKeys.start()
        _ = withKeys.handle(.streamOpened(attributes: [:]))
        _ = withKeys.handle(.element(try parseElement(startTLSFeatures)))
        _ = withKeys.handle(.element(try parseElement("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")))
        _ = withKeys.handle(.tlsEstablished(tls13))
        _ = withKeys.handle(.streamOpened(attributes: [:]))
        let actions = withKeys.handle(.element(try parseElement(saslFeatures(["PLAIN", "SCRAM-SHA-256"]))))
        #expect(failure(actions) == .noAcceptableMechanism(["PLAIN", "SCRAM-SHA-256"]), "SHA-1 keys fit neither")
    }

    @Test func negotiation__success_with_a_forged_server_signature_fails() throws {
        var negotiator = StreamNegotiator(configuration: .init(jid: alice, resource: nil, credential: .password("secret")))
        let auth = try #require(try negotiateToAuth(&negotiator, mechanisms: ["SCRAM-SHA-1"]))
        var server = SCRAMServer(hash: .sha1, password: "secret")
        server.forgeSignature = true
        let challenge = server.serverFirst(clientFirst: try #require(Base64.decode(auth.text)))
        let response = try #require(sent(negotiator.handle(.element(try parseElement(
            "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\(Base64.encode(challenge))</challenge>")))).first)
        let final = try server.serverFinal(clientFinal: try #require(Base64.decode(response.text)))
        let actions = negotiator.handle(.element(try parseElement(
            "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\(Base64.encode(final))</success>")))
        #expect(failure(actions) == .authenticationFailed(.serverSignatureMismatch))
        #expect(!actions.contains(.openStream(restartParser: true)))
    }

    @Test func negotiation__sasl_failure_is_reported_with_its_condition() throws {
        var negotiator = StreamNegotiator(configuration: .init(jid: alice, resource: nil, credential: .password("wrong")))
        _ = try negotiateToAuth(&negotiator, mechanisms: ["SCRAM-SHA-1"])
        let actions = negotiator.handle(.element(try parseElement(
            "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>")))
        let error = try #require(failure(actions))
        #expect(error.description.contains("wrong username or password"))
    }

    @Test func negotiation__stream_error_is_parsed_into_its_condition() throws {
        var negotiator = StreamNegotiator(configuration: .init(jid: alice, resource: nil, credential: .password("pw")))
        _ = negotiator.start()
        _ = negotiator.handle(.streamOpened(attributes: [:]))
        let actions = negotiator.handle(.element(try parseElement(
            "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>no such host</text></stream:error>")))
        #expect(failure(actions) == .stream(StreamError(condition: "host-unknown", text: "no such host")))
    }

    @Test func negotiation__bind_result_for_another_account_is_refused() throws {
        var negotiator = StreamNegotiator(configuration: .init(jid: alice, resource: nil, credential: .password("pw")))
        _ = try negotiateToAuth(&negotiator, mechanisms: ["PLAIN"])
        _ = negotiator.handle(.element(try parseElement("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")))
        _ = negotiator.handle(.streamOpened(attributes: [:]))
        let bind = try #require(sent(negotiator.handle(.element(try parseElement(bindFeatures)))).first)
        let actions = negotiator.handle(.element(try parseElement(
            "<iq type='result' id='\(bind["id"]!)'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>mallory@example.org/x</jid></bind></iq>")))
        guard case .bindFailed? = failure(actions) else {
            Issue.record("expected bindFailed, got \(actions)")
            return
        }
    }

    @Test func negotiation__bind_result_without_a_resource_is_refused() throws {
        // RFC 6120 §7.6.1: the bound JID is a full JID; a bare one cannot address this session.
        var negotiator = StreamNegotiator(configuration: .init(jid: alice, resource: nil, credential: .password("pw")))
        _ = try negotiateToAuth(&negotiator, mechanisms: ["PLAIN"])
        _ = negotiator.handle(.element(try parseElement("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")))
        _ = negotiator.handle(.streamOpened(attributes: [:]))
        let bind = try #require(sent(negotiator.handle(.element(try parseElement(bindFeatures)))).first)
        let actions = negotiator.handle(.element(try parseElement(
            "<iq type='result' id='\(bind["id"]!)'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@example.org</jid></bind></iq>")))
        guard case .bindFailed? = failure(actions) else {
            Issue.record("expected bindFailed, got \(actions)")
            return
        }
    }

    @Test func negotiation__direct_tls_authenticates_without_starttls() throws {
        var negotiator = StreamNegotiator(configuration: .init(jid: alice, resource: nil, credential: .password("pw")), tls: tls13)
        _ = negotiator.start()
        _ = negotiator.handle(.streamOpened(attributes: [:]))
        let actions = negotiator.handle(.element(try parseElement(saslFeatures(["PLAIN"]))))
        #expect(sent(actions).first?.name == "auth")
    }

    @Test func negotiation__required_legacy_session_is_established_after_bind() throws {
        var negotiator = StreamNegotiator(configuration: .init(jid: alice, resource: nil, credential: .password("pw")), tls: tls13)
        _ = negotiator.start()
        _ = negotiator.handle(.streamOpened(attributes: [:]))
        _ = negotiator.handle(.element(try parseElement(saslFeatures(["PLAIN"]))))
        _ = negotiator.handle(.element(try parseElement("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")))
        _ = negotiator.handle(.streamOpened(attributes: [:]))
        let bind = try #require(sent(negotiator.handle(.element(try parseElement(
            "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></stream:features>")))).first)
        let sessionRequest = try #require(sent(negotiator.handle(.element(try parseElement(
            "<iq type='result' id='\(bind["id"]!)'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@example.org/r</jid></bind></iq>")))).first)
        #expect(sessionRequest.child("session", namespace: NS.session) != nil)
        let done = negotiator.handle(.element(try parseElement("<iq type='result' id='\(sessionRequest["id"]!)'/>")))
        guard case .established? = done.first else {
            Issue.record("not established: \(done)")
            return
        }
    }

    @Test func registration__stops_after_verified_tls_when_the_server_offers_it() throws {
        var negotiator = StreamNegotiator(configuration: .init(jid: alice, resource: nil, credential: .password(""), purpose: .register))
        _ = negotiator.start()
        _ = negotiator.handle(.streamOpened(attributes: [:]))
        // Before TLS: STARTTLS first, even though registration is the goal.
        #expect(sent(negotiator.handle(.element(try parseElement(startTLSFeatures)))).map(\.name) == ["starttls"])
        _ = negotiator.handle(.element(try parseElement("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")))
        _ = negotiator.handle(.tlsEstablished(tls13))
        _ = negotiator.handle(.streamOpened(attributes: [:]))
        let features = try parseElement(
            "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism></mechanisms>"
                + "<register xmlns='http://jabber.org/features/iq-register'/></stream:features>")
        let actions = negotiator.handle(.element(features))
        #expect(actions == [.securedForRegistration(features: features)], "no <auth>: registration comes first")
    }

    @Test func registration__not_offered_on_this_connection_is_its_own_error() throws {
        var negotiator = StreamNegotiator(configuration: .init(jid: alice, resource: nil, credential: .password(""), purpose: .register), tls: tls13)
        _ = negotiator.start()
        _ = negotiator.handle(.streamOpened(attributes: [:]))
        let actions = negotiator.handle(.element(try parseElement(saslFeatures(["SCRAM-SHA-1"]))))
        #expect(failure(actions) == .registrationNotOffered)
        #expect(sent(actions).isEmpty)
    }
}

/// `tern trust --show` opens the stream as a login does and stops at the TLS handshake.
@Suite struct NegotiatorCertificateProbeTests {
    @Test func certificate__starttls_then_the_handshake_and_nothing_more() throws {
        var negotiator = StreamNegotiator(configuration: .init(jid: alice, resource: nil, credential: .password(""), purpose: .certificate))
        #expect(negotiator.start() == [.openStream(restartParser: false)])
        _ = negotiator.handle(.streamOpened(attributes: [:]))
        #expect(sent(negotiator.handle(.element(try parseElement(startTLSFeatures)))).map(\.name) == ["starttls"])
        #expect(negotiator.handle(.element(try parseElement("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"))) == [.inspectCertificate])
        #expect(negotiator.isFinished)
    }

    @Test func certificate__a_server_without_starttls_is_refused_as_for_a_login() throws {
        var negotiator = StreamNegotiator(configuration: .init(jid: alice, resource: nil, credential: .password(""), purpose: .certificate))
        _ = negotiator.start()
        _ = negotiator.handle(.streamOpened(attributes: [:]))
        #expect(failure(negotiator.handle(.element(try parseElement(saslFeatures(["PLAIN"]))))) == .tlsNotOffered)
    }

    @Test func certificate__features_after_tls_are_not_for_a_probe() throws {
        var negotiator = StreamNegotiator(
            configuration: .init(jid: alice, resource: nil, credential: .password(""), purpose: .certificate), tls: tls13)
        _ = negotiator.start()
        _ = negotiator.handle(.streamOpened(attributes: [:]))
        let actions = negotiator.handle(.element(try parseElement(saslFeatures(["PLAIN"]))))
        #expect(sent(actions).isEmpty, "never an <auth> from a probe")
        #expect(failure(actions) != nil)
    }
}
