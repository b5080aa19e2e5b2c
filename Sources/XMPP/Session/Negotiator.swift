/// What we log in with: the password, or SCRAM keys derived at an earlier login
/// (which only work for their own hash, and never for PLAIN).
public enum LoginCredential: Sendable {
    case password(String)
    case scramKeys(SCRAMKeys, hash: HashAlgorithm)

    var kind: SASLCredentialKind {
        switch self {
        case .password: .password
        case .scramKeys(_, let hash): .scramKeys(hash)
        }
    }

    var scram: SCRAMCredential {
        switch self {
        case .password(let password): .password(password)
        case .scramKeys(let keys, _): .keys(keys)
        }
    }
}

/// Stream negotiation for a client (RFC 6120 §4.3, §5 STARTTLS, §6 SASL, §7 resource binding,
/// XEP-0198 §3 and §5: enabling or resuming stream management), as a pure state machine.
///
/// The negotiator never touches a socket: the `Connection` feeds it stream events and carries
/// out the actions it returns. That keeps every ordering rule testable without a network:
/// - TLS is required: without `<starttls/>` on a plain stream we abort before any `<auth>`;
/// - features seen before TLS or before authentication are never reused (each restart
///   forgets them and waits for fresh ones);
/// - PLAIN is only ever chosen over TLS, and a SCRAM `<success>` must carry the right `v=`;
/// - a stored stream-management session is resumed instead of binding (XEP-0198 §5); otherwise,
///   or when resumption fails, `<enable/>` follows the bind, and the session is reported only
///   once the server answered it, so no stanza is ever sent before counting starts.
public struct StreamNegotiator: Sendable {
    public struct Configuration: Sendable {
        public var jid: JID
        public var resource: String?
        public var credential: LoginCredential
        public var lang: String
        public var purpose: Purpose
        /// Stream management to resume or enable when the server offers it; nil: never use it.
        public var streamManagement: StreamManagement?

        public init(
            jid: JID, resource: String?, credential: LoginCredential, lang: String = "en", purpose: Purpose = .login,
            streamManagement: StreamManagement? = nil
        ) {
            self.jid = jid
            self.resource = resource
            self.credential = credential
            self.lang = lang
            self.purpose = purpose
            self.streamManagement = streamManagement
        }
    }

    /// Why the stream is opened: to log in, to register an account first (XEP-0077), which
    /// stops after TLS, before any authentication, or to see the server's certificate
    /// (`tern trust --show`), which stops at the TLS handshake, trusted or not.
    public enum Purpose: Sendable {
        case login
        case register
        case certificate
    }

    /// What the TLS layer reports once the handshake and certificate verification succeeded.
    public struct TLSInfo: Sendable, Equatable {
        public var isTLS13: Bool
        /// Channel-binding types the session can produce, with their data.
        public var channelBindings: [String: [UInt8]]

        public init(isTLS13: Bool, channelBindings: [String: [UInt8]]) {
            self.isTLS13 = isTLS13
            self.channelBindings = channelBindings
        }
    }

    public enum Input: Sendable {
        case streamOpened(attributes: [String: String])
        case element(Element)
        case tlsEstablished(TLSInfo)
        case streamClosed
        /// An element the parser skipped for crossing a per-stanza limit.
        case dropped(DroppedStanza)
    }

    public enum Action: Sendable, Equatable {
        /// Write a new stream header (after resetting the parser where a restart is due).
        case openStream(restartParser: Bool)
        case send(Element)
        /// Run the TLS handshake now, discarding any bytes buffered in plaintext, then feed `.tlsEstablished`.
        case startTLS
        /// Certificate probe only: run the TLS handshake as for `.startTLS`, then stop. The
        /// server's certificate, and whether it verified, is the result; nothing is sent over TLS.
        case inspectCertificate
        /// Negotiation finished: the session is bound and usable.
        case established(Session)
        /// Registration only: the stream is secured by verified TLS and the server offers
        /// in-band registration; these are its features.
        case securedForRegistration(features: Element)
        case fail(NegotiationError)
    }

    public struct Session: Sendable, Equatable {
        public var boundJID: JID
        public var streamID: String?
        /// The post-authentication features (stream management, CSI, …).
        public var features: Element
        public var mechanism: String
        /// The channel-binding type the SASL exchange was bound to (RFC 5929 / RFC 9266 name); nil when unbound.
        public var channelBinding: String?
        /// The stream runs over TLS 1.3 (else TLS 1.2: our priority string allows nothing older).
        public var isTLS13: Bool
        /// SCRAM keys derived during this login, for the store to keep instead of the password.
        public var derivedKeys: SCRAMKeys?
        /// The hash the derived keys belong to.
        public var keysHash: HashAlgorithm?
        /// Whether the stream continues an earlier session or starts a new one.
        public var start: Start = .new(unconfirmed: [])
        /// The running XEP-0198 state; nil when the stream has no stream management.
        public var streamManagement: StreamManagement?
    }

    /// How a session began (XEP-0198 §5).
    public struct Start: Sendable, Equatable {
        /// Whether the earlier session goes on: binding, roster and presence still stand.
        /// Otherwise this is a new session.
        public var isResumed: Bool
        /// Keys the server confirmed while reconnecting (the `h` of `<resumed/>` or `<failed/>`).
        public var acknowledged: [String]
        /// Keys that never reached the server: send them again. On a new session that is
        /// done after it is set up, with the same origin-id and a XEP-0203 delay.
        public var unconfirmed: [String]

        public static func resumed(acknowledged: [String] = [], unconfirmed: [String]) -> Start {
            Start(isResumed: true, acknowledged: acknowledged, unconfirmed: unconfirmed)
        }

        public static func new(acknowledged: [String] = [], unconfirmed: [String]) -> Start {
            Start(isResumed: false, acknowledged: acknowledged, unconfirmed: unconfirmed)
        }
    }

    public enum NegotiationError: Error, Sendable, Equatable, CustomStringConvertible {
        case tlsNotOffered
        case tlsRefused
        case noAcceptableMechanism([String])
        case authenticationFailed(SASLError)
        case bindFailed(StanzaError)
        case stream(StreamError)
        case unexpected(String)
        case closedByServer
        case registrationNotOffered
        case streamManagement(SMError)

        public var description: String {
            switch self {
            case .tlsNotOffered: "the server does not offer STARTTLS; tern never logs in without TLS"
            case .tlsRefused: "the server refused to start TLS"
            case .noAcceptableMechanism(let offered):
                "no acceptable authentication mechanism (server offers: \(offered.joined(separator: ", ")))"
            case .authenticationFailed(let error): "authentication failed: \(error)"
            case .bindFailed(let error): "resource binding failed: \(error)"
            case .stream(let error): error.description
            case .unexpected(let what): "unexpected during stream negotiation: \(what)"
            case .closedByServer: "the server closed the stream during negotiation"
            case .registrationNotOffered: "this server offers no in-band registration on this connection"
            case .streamManagement(let error): error.description
            }
        }
    }

    enum Phase: Sendable {
        case awaitingHeader
        case awaitingFeatures
        case awaitingProceed
        case awaitingTLS
        case authenticating(SASLExchange)
        case binding(id: String)
        case establishingSession(id: String, bound: JID)
        case resuming
        case enabling(bound: JID)
        case done
        case failed
    }

    enum SASLExchange: Sendable {
        case scram(SCRAMClient, name: String)
        case plain
    }

    public let configuration: Configuration
    private(set) var phase: Phase = .awaitingHeader
    private var tls: TLSInfo?
    private var authenticated = false
    private var streamID: String?
    private var mechanismUsed = ""
    private var channelBindingUsed: String?
    private var derivedKeys: SCRAMKeys?
    private var keysHash: HashAlgorithm?
    private let idPrefix: String
    private var streamManagement: StreamManagement?
    /// What a failed `<resume/>` settled, for the new session to report and resend.
    private var failedResumption: StreamManagement.Failure?

    /// - Parameter tls: set when the socket is already TLS (XEP-0368 direct TLS).
    public init(configuration: Configuration, tls: TLSInfo? = nil, idPrefix: String = "neg") {
        self.configuration = configuration
        self.tls = tls
        self.idPrefix = idPrefix
        self.streamManagement = configuration.streamManagement
    }

    public var isFinished: Bool {
        switch phase {
        case .done, .failed: true
        default: false
        }
    }

    /// The first action: open the stream.
    public mutating func start() -> [Action] {
        phase = .awaitingHeader
        return [.openStream(restartParser: false)]
    }

    public mutating func handle(_ input: Input) -> [Action] {
        switch (phase, input) {
        case (.done, _), (.failed, _):
            return []
        case (_, .streamClosed):
            return fail(.closedByServer)
        case (_, .element(let element)) where StreamError.isStreamError(element):
            return fail(.stream(StreamError(element)))
        case (_, .dropped(let dropped)):
            // Only the server speaks before the session is up: nothing to skip past.
            return fail(.unexpected("an oversized <\(dropped.name)> (\(dropped.reason))"))
        case (.awaitingHeader, .streamOpened(let attributes)):
            streamID = attributes["id"]
            phase = .awaitingFeatures
            return []
        case (.awaitingFeatures, .element(let features)) where features.matches("features", NS.stream):
            return negotiate(features)
        case (.awaitingProceed, .element(let element)) where element.namespace == NS.tls:
            guard element.name == "proceed" else { return fail(.tlsRefused) }
            if configuration.purpose == .certificate {
                phase = .done
                return [.inspectCertificate]
            }
            phase = .awaitingTLS
            return [.startTLS]
        case (.awaitingTLS, .tlsEstablished(let info)):
            tls = info
            phase = .awaitingHeader
            return [.openStream(restartParser: true)]
        case (.authenticating(let exchange), .element(let element)) where element.namespace == NS.sasl:
            return continueSASL(exchange, element)
        case (.binding(let id), .element(let element)) where element.name == "iq" && element["id"] == id:
            return finishBind(element)
        case (.establishingSession(let id, let bound), .element(let element)) where element.name == "iq" && element["id"] == id:
            if element["type"] == "result" { return enableOrFinish(bound) }
            return fail(.bindFailed(IQ(element)?.error ?? StanzaError(type: "cancel", condition: "undefined-condition")))
        case (.resuming, .element(let element)) where element.namespace == NS.sm:
            return continueResumption(element)
        case (.enabling(let bound), .element(let element)) where element.namespace == NS.sm:
            return finishEnabling(element, bound: bound)
        default:
            return fail(.unexpected(describe(input)))
        }
    }

    // MARK: - Phases

    private var postAuthFeatures: Element?

    private mutating func negotiate(_ features: Element) -> [Action] {
        if tls == nil {
            guard features.child("starttls", namespace: NS.tls) != nil else { return fail(.tlsNotOffered) }
            phase = .awaitingProceed
            return [.send(Element("starttls", namespace: NS.tls))]
        }
        // A probe over direct TLS has its certificate before any stream: nothing here is for it.
        guard configuration.purpose != .certificate else { return fail(.unexpected("stream features after TLS in a certificate probe")) }
        if configuration.purpose == .register {
            // XEP-0077 §4: the <register/> stream feature says registration is offered here.
            guard features.child("register", namespace: "http://jabber.org/features/iq-register") != nil else {
                return fail(.registrationNotOffered)
            }
            phase = .done
            return [.securedForRegistration(features: features)]
        }
        if !authenticated {
            return beginSASL(features)
        }
        postAuthFeatures = features
        if !offersStreamManagement { streamManagement = nil }
        if var machine = streamManagement, let resume = machine.resumeRequest() {
            streamManagement = machine
            phase = .resuming
            return [.send(resume)]
        }
        return bind()
    }

    private var offersStreamManagement: Bool {
        postAuthFeatures?.child("sm", namespace: NS.sm) != nil
    }

    private mutating func bind() -> [Action] {
        guard postAuthFeatures?.child("bind", namespace: NS.bind) != nil else {
            return fail(.unexpected("the server offers no resource binding"))
        }
        let id = "\(idPrefix)-bind"
        var bindChildren: [Element] = []
        if let resource = configuration.resource, !resource.isEmpty {
            bindChildren.append(Element("resource", namespace: NS.bind, elements: [], text: resource))
        }
        phase = .binding(id: id)
        return [.send(IQ.request(.set, id: id, payload: Element("bind", namespace: NS.bind, elements: bindChildren)))]
    }

    private mutating func beginSASL(_ features: Element) -> [Action] {
        let offered = SASLMechanism.offeredNames(in: features)
        // Only a verified TLS session gets here: the connection verifies before reporting TLS established.
        guard let tls else { return fail(.tlsNotOffered) }
        let choice: SASLMechanism.Choice
        let username = configuration.jid.local ?? ""
        let initial: [UInt8]
        let exchange: SASLExchange
        do throws(SASLError) {
            choice = try SASLMechanism.choose(
                offered: offered, tlsActive: true, tlsVersion13: tls.isTLS13,
                channelBindingsOffered: SASLMechanism.channelBindingTypes(in: features),
                availableBindings: tls.channelBindings.keys.sorted(), credential: configuration.credential.kind)
            if let hash = choice.mechanism.hash {
                var bindingData: [UInt8] = []
                if case .bind(let type) = choice.channelBinding { bindingData = tls.channelBindings[type] ?? [] }
                var client = try SCRAMClient(
                    hash: hash, username: username, credential: configuration.credential.scram,
                    channelBinding: choice.channelBinding.choice(data: bindingData))
                initial = client.initialResponse()
                exchange = .scram(client, name: choice.mechanism.rawValue)
                keysHash = hash
            } else {
                guard case .password(let password) = configuration.credential else {
                    throw SASLError.noAcceptableMechanism(offered: offered)
                }
                initial = try PlainClient(username: username, password: password).initialResponse()
                exchange = .plain
            }
        } catch {
            if case .noAcceptableMechanism = error { return fail(.noAcceptableMechanism(offered)) }
            return fail(.authenticationFailed(error))
        }
        mechanismUsed = choice.mechanism.rawValue
        if case .bind(let type) = choice.channelBinding { channelBindingUsed = type }
        phase = .authenticating(exchange)
        return [.send(Element(
            "auth", namespace: NS.sasl, attributes: ["mechanism": choice.mechanism.rawValue],
            elements: [], text: Base64.encode(initial)))]
    }

    private mutating func continueSASL(_ exchange: SASLExchange, _ element: Element) -> [Action] {
        switch (element.name, exchange) {
        case ("challenge", .scram(var client, let name)):
            guard let challenge = Base64.decode(element.text) else {
                return fail(.authenticationFailed(.malformedChallenge("challenge is not base64")))
            }
            do throws(SASLError) {
                let response = try client.respond(toChallenge: challenge)
                phase = .authenticating(.scram(client, name: name))
                return [.send(Element("response", namespace: NS.sasl, elements: [], text: Base64.encode(response)))]
            } catch {
                return fail(.authenticationFailed(error))
            }
        case ("success", .scram(var client, _)):
            do throws(SASLError) {
                guard let data = Base64.decode(element.text) else {
                    throw SASLError.malformedChallenge("success data is not base64")
                }
                try client.verify(success: data)
                derivedKeys = client.derivedKeys
            } catch {
                return fail(.authenticationFailed(error))
            }
            return restartAfterAuth()
        case ("success", .plain):
            return restartAfterAuth()
        case ("failure", _):
            return fail(.authenticationFailed(SASLError(failure: element)))
        default:
            return fail(.unexpected("SASL <\(element.name)>"))
        }
    }

    private mutating func restartAfterAuth() -> [Action] {
        authenticated = true
        phase = .awaitingHeader
        return [.openStream(restartParser: true)]
    }

    private mutating func finishBind(_ element: Element) -> [Action] {
        guard element["type"] == "result",
            let jidText = element.child("bind", namespace: NS.bind)?.childText("jid", namespace: NS.bind),
            let bound = try? JID(jidText), bound.bare == configuration.jid.bare, bound.resource != nil
        else {
            return fail(.bindFailed(IQ(element)?.error ?? StanzaError(type: "cancel", condition: "bad-request", text: "no usable JID in the bind result")))
        }
        // RFC 3921 session establishment, only when a server still requires it.
        if let session = postAuthFeatures?.child("session", namespace: NS.session),
            session.child("optional", namespace: NS.session) == nil
        {
            let id = "\(idPrefix)-session"
            phase = .establishingSession(id: id, bound: bound)
            return [.send(IQ.request(.set, id: id, payload: Element("session", namespace: NS.session)))]
        }
        return enableOrFinish(bound)
    }

    /// XEP-0198 §3: `<enable/>` right after binding, when the server offers it.
    private mutating func enableOrFinish(_ bound: JID) -> [Action] {
        guard var machine = streamManagement else {
            return finish(bound, start: newStart)
        }
        let enable = machine.enableRequest(resume: true)
        streamManagement = machine
        phase = .enabling(bound: bound)
        return [.send(enable)]
    }

    private mutating func finishEnabling(_ element: Element, bound: JID) -> [Action] {
        guard var machine = streamManagement else { return fail(.unexpected("stream management")) }
        switch element.name {
        case "enabled":
            do throws(SMError) {
                try machine.handle(enabled: element, boundJID: bound.description)
            } catch {
                return failStreamManagement(error)
            }
            streamManagement = machine
        case "failed":
            // The server would not enable it: the session simply runs without.
            streamManagement = nil
        default:
            return fail(.unexpected("<\(element.name)> while enabling stream management"))
        }
        return finish(bound, start: newStart)
    }

    private var newStart: Start {
        .new(acknowledged: failedResumption?.acknowledged ?? [], unconfirmed: failedResumption?.unconfirmed ?? [])
    }

    /// XEP-0198 §5: `<resumed/>` ends negotiation; `<failed/>` falls back to binding.
    private mutating func continueResumption(_ element: Element) -> [Action] {
        guard var machine = streamManagement else { return fail(.unexpected("stream management")) }
        do throws(SMError) {
            switch element.name {
            case "resumed":
                let resumption = try machine.handle(resumed: element)
                guard let text = machine.snapshot.boundJID, let bound = try? JID(text), bound.bare == configuration.jid.bare
                else {
                    return fail(.unexpected("a resumed session whose bound JID was not saved"))
                }
                streamManagement = machine
                return finish(bound, start: .resumed(acknowledged: resumption.acknowledged, unconfirmed: resumption.unconfirmed))
            case "failed":
                failedResumption = try machine.handle(failed: element)
                streamManagement = machine
                return bind()
            default:
                return fail(.unexpected("<\(element.name)> while resuming"))
            }
        } catch {
            return failStreamManagement(error)
        }
    }

    private mutating func failStreamManagement(_ error: SMError) -> [Action] {
        phase = .failed
        return [.send(error.streamError), .fail(.streamManagement(error))]
    }

    private mutating func finish(_ bound: JID, start: Start) -> [Action] {
        phase = .done
        return [.established(Session(
            boundJID: bound, streamID: streamID,
            features: postAuthFeatures ?? Element("features", namespace: NS.stream),
            mechanism: mechanismUsed, channelBinding: channelBindingUsed, isTLS13: tls?.isTLS13 == true,
            derivedKeys: derivedKeys, keysHash: keysHash,
            start: start, streamManagement: streamManagement))]
    }

    private mutating func fail(_ error: NegotiationError) -> [Action] {
        phase = .failed
        return [.fail(error)]
    }

    private func describe(_ input: Input) -> String {
        switch input {
        case .streamOpened: "a second stream header"
        case .element(let element): "<\(element.name) xmlns='\(element.namespace)'>"
        case .tlsEstablished: "TLS established out of turn"
        case .streamClosed: "stream closed"
        case .dropped(let dropped): "an oversized <\(dropped.name)>"
        }
    }
}
