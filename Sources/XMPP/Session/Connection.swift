import Foundation

/// How to reach and log in to one account's server.
public struct ConnectionConfiguration: Sendable {
    public var jid: JID
    public var resource: String?
    public var credential: LoginCredential
    /// Host and port override; nil means SRV lookup (XEP-0368), then the domain on 5222.
    public var endpoint: Endpoint?
    public var trust: TLSTrust
    public var connectTimeout: Duration
    public var negotiationTimeout: Duration
    public var purpose: StreamNegotiator.Purpose = .login

    public init(
        jid: JID, resource: String?, credential: LoginCredential, endpoint: Endpoint? = nil,
        trust: TLSTrust, connectTimeout: Duration = .seconds(10), negotiationTimeout: Duration = .seconds(30)
    ) {
        self.jid = jid
        self.resource = resource
        self.credential = credential
        self.endpoint = endpoint
        self.trust = trust
        self.connectTimeout = connectTimeout
        self.negotiationTimeout = negotiationTimeout
    }
}

/// Why a connection could not be made or ended.
public enum ConnectionError: Error, Sendable, CustomStringConvertible {
    case transport(String)
    case tls(TLSError)
    case negotiation(StreamNegotiator.NegotiationError)
    case parser(XMLStreamError)
    case stream(StreamError)
    case serialization(String)
    case timeout(String)
    case closed
    case cancelled

    public var description: String {
        switch self {
        case .transport(let why): why
        case .tls(let error): "\(error)"
        case .negotiation(let error): error.description
        case .parser(let error): "the server sent bad XML: \(error)"
        case .stream(let error): error.description
        case .serialization(let why): "cannot send: \(why)"
        case .timeout(let what): "timed out: \(what)"
        case .closed: "the connection was closed"
        case .cancelled: "cancelled"
        }
    }

    /// Errors after which reconnecting cannot help until the user acts.
    public var isPermanent: Bool {
        switch self {
        case .tls: true
        case .negotiation(let error):
            switch error {
            case .authenticationFailed, .tlsNotOffered, .noAcceptableMechanism: true
            case .stream(let stream): stream.condition == "conflict"
            default: false
            }
        case .stream(let error): error.condition == "conflict"
        default: false
        }
    }
}

/// One XMPP client connection: the only door to its I/O thread, and the IQ tracker.
///
/// Stanzas arrive in order on `stanzas`; replies to our own IQ requests are routed to the
/// awaiting `request` call instead (RFC 6120 §8.2.3), after checking they come from the
/// entity we asked.
public actor Connection {
    public enum Event: Sendable {
        /// Stanzas that arrived together, in order.
        case stanzas([Element])
        case closed(ConnectionError?)
    }

    public nonisolated let events: AsyncStream<Event>
    private let eventSink: AsyncStream<Event>.Continuation
    public let configuration: ConnectionConfiguration
    public private(set) var session: StreamNegotiator.Session?
    private var io: StreamIO?
    private var pending: [String: PendingRequest] = [:]
    private var routing: Task<Void, Never>?
    private var closedWaiters: [CheckedContinuation<Void, Never>] = []
    private var isClosed = false

    struct PendingRequest {
        let to: String?
        let continuation: CheckedContinuation<Element, any Error>
    }

    public init(configuration: ConnectionConfiguration) {
        self.configuration = configuration
        (events, eventSink) = AsyncStream<Event>.makeStream(bufferingPolicy: .unbounded)
    }

    /// Connects, secures and authenticates the stream, and binds the resource.
    public func connect() async throws(ConnectionError) -> StreamNegotiator.Session {
        switch try await open() {
        case .bound(let session): return session
        case .securedForRegistration: throw .negotiation(.unexpected("a registration stream where a login was asked for"))
        }
    }

    /// Connects and secures the stream with verified TLS, without authenticating, for XEP-0077
    /// registration (`configuration.purpose` must be `.register`). Returns the stream features.
    public func connectForRegistration() async throws(ConnectionError) -> Element {
        switch try await open() {
        case .securedForRegistration(let features): return features
        case .bound: throw .negotiation(.unexpected("a login where a registration stream was asked for"))
        }
    }

    private func open() async throws(ConnectionError) -> StreamIO.Negotiated {
        let (inbound, sink) = AsyncStream<StreamIO.Event>.makeStream(bufferingPolicy: .unbounded)
        let io = try StreamIO(configuration: configuration, events: sink)
        self.io = io
        let result: Result<StreamIO.Negotiated, ConnectionError> = await withCheckedContinuation { continuation in
            io.start { continuation.resume(returning: $0) }
        }
        switch result {
        case .success(let negotiated):
            if case .bound(let session) = negotiated { self.session = session }
            routing = Task { [weak self] in
                for await event in inbound {
                    await self?.route(event)
                }
            }
            return negotiated
        case .failure(let error):
            self.io = nil
            isClosed = true
            // A close() that arrived while connecting waits here, not on a stream that never opened.
            closedWaiters.forEach { $0.resume() }
            closedWaiters.removeAll()
            throw error
        }
    }

    /// Serialises and queues stanzas for sending, in order. Fails if any cannot be serialised.
    public func send(_ elements: [Element]) throws(ConnectionError) {
        guard let io, !isClosed else { throw .closed }
        var texts: [String] = []
        texts.reserveCapacity(elements.count)
        for element in elements {
            do { texts.append(try XMLSerializer.serialize(element)) } catch { throw .serialization("\(error)") }
        }
        io.enqueue(texts)
    }

    public func send(_ element: Element) throws(ConnectionError) {
        try send([element])
    }

    /// Queues already-serialised stanzas (the outbox keeps them serialised).
    public func sendSerialized(_ texts: [String]) throws(ConnectionError) {
        guard let io, !isClosed else { throw .closed }
        io.enqueue(texts)
    }

    /// Sends an IQ get or set and waits for its result or error (RFC 6120 §8.2.3).
    /// An `error` reply throws its `StanzaError`.
    public func request(_ iq: Element, timeout: Duration = .seconds(30)) async throws -> Element {
        guard let id = iq["id"] else { throw ConnectionError.serialization("an iq needs an id") }
        try send(iq)
        let to = iq["to"]
        let reply: Element = try await withCheckedThrowingContinuation { continuation in
            pending[id] = PendingRequest(to: to, continuation: continuation)
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                await self?.expire(id)
            }
        }
        if reply["type"] == "error" {
            throw IQ(reply)?.error ?? StanzaError(type: "cancel", condition: "undefined-condition")
        }
        return reply
    }

    /// Closes the stream cleanly and waits until the I/O thread has finished.
    public func close() async {
        guard let io, !isClosed else { return }
        io.requestClose()
        await withCheckedContinuation { closedWaiters.append($0) }
    }

    public func nextID() -> String {
        UUID().uuidString.lowercased()
    }

    // MARK: - Routing

    private func route(_ event: StreamIO.Event) {
        switch event {
        case .stanzas(let elements):
            let unclaimed = elements.filter { !claimReply($0) }
            if !unclaimed.isEmpty { eventSink.yield(.stanzas(unclaimed)) }
        case .closed(let error):
            isClosed = true
            for (_, request) in pending { request.continuation.resume(throwing: error ?? .closed) }
            pending.removeAll()
            eventSink.yield(.closed(error))
            eventSink.finish()
            closedWaiters.forEach { $0.resume() }
            closedWaiters.removeAll()
        }
    }

    /// Resumes the `request` waiting for this iq reply, if there is one.
    private func claimReply(_ element: Element) -> Bool {
        guard element.name == "iq", element.namespace == NS.client,
            let type = element["type"], type == "result" || type == "error",
            let id = element["id"], let request = pending[id], isExpectedReplier(element["from"], for: request.to)
        else { return false }
        pending[id] = nil
        request.continuation.resume(returning: element)
        return true
    }

    private func isExpectedReplier(_ from: String?, for to: String?) -> Bool {
        Self.isExpectedReplier(from, for: to, boundJID: session?.boundJID, domain: configuration.jid.domain)
    }

    /// A reply must come from whom we asked; a request to no one is answered by our server
    /// or our own account (RFC 6120 §10.3.3).
    static func isExpectedReplier(_ from: String?, for to: String?, boundJID: JID?, domain: String) -> Bool {
        guard let boundJID else {
            // Before authentication only the server itself can answer (XEP-0077 registration).
            return to == nil && (from == nil || from == domain)
        }
        // A `from` that is there but no JID is not an absent one: it never passes for our server.
        var fromJID: JID?
        if let from {
            guard let parsed = try? JID(from) else { return false }
            fromJID = parsed
        }
        if let to, let toJID = try? JID(to) {
            return fromJID == toJID || (fromJID == nil && toJID.bare == boundJID.bare)
        }
        return fromJID == nil || fromJID == boundJID.bare || fromJID == boundJID
            || fromJID == (try? JID(boundJID.domain))
    }

    private func expire(_ id: String) {
        guard let request = pending.removeValue(forKey: id) else { return }
        request.continuation.resume(throwing: ConnectionError.timeout("no reply to request \(id)"))
    }
}
