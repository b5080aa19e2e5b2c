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
    /// XEP-0198 state to resume, or a fresh machine to enable; nil: no stream management.
    public var streamManagement: StreamManagement?
    /// Saves every change of the XEP-0198 state. It runs before the stanzas it counts are
    /// written, so a crash can never leave the server ahead of the count we saved.
    public var saveStreamManagement: (@Sendable (StreamManagement.Snapshot) throws -> Void)?
    /// How long an ack request may go unanswered before the link counts as dead.
    public var ackTimeout: Duration = .seconds(30)
    /// How long a write may wait for the server to take a single byte before the link counts
    /// as dead (DESIGN §6: a peer that stops reading must not hold the I/O thread).
    public var writeTimeout: Duration = .seconds(20)
    /// The usual endpoints for a domain when no server is configured: DNS SRV, then the domain
    /// itself (XEP-0368). Blocking; called on the I/O thread.
    public var lookupEndpoints: @Sendable (_ domain: String) -> [Endpoint] = { Resolver.endpoints(domain: $0, override: nil) }
    /// When set, the connection talks to this in-memory server instead of the network: no
    /// socket, TLS or negotiation (tests of what sits above the connection).
    public var embedded: EmbeddedTransport?

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

extension ConnectionConfiguration {
    /// XEP-0198 §5: where to try resuming before the usual endpoints, or nil. A server the user
    /// configured wins (RFC 6120 §3.2.3: a configured host bypasses discovery, the server's hint
    /// included). A location names no TLS mode, so it gets STARTTLS, as on the default port.
    public var resumptionLocation: Endpoint? {
        guard endpoint == nil, let snapshot = streamManagement?.snapshot, snapshot.canResume,
            let location = snapshot.location
        else { return nil }
        return StreamManagement.resumptionEndpoint(location: location, directTLS: false)
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
    /// The caller's commit before a write failed; nothing was written.
    case commit(any Error)
    /// What arrived could not be stored: the link is dropped unacknowledged, for the server to resend.
    case storeFailed(String)
    case streamManagement(SMError)
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
        case .commit(let error): "cannot record what is sent: \(error)"
        case .storeFailed(let why): "could not store what arrived (\(why)); the server keeps it for the next session"
        case .streamManagement(let error): error.description
        case .timeout(let what): "timed out: \(what)"
        case .closed: "the connection was closed"
        case .cancelled: "cancelled"
        }
    }

    /// Whether the server answered before this went wrong: false when it could not be
    /// reached at all (no route, refused, no answer in time).
    public var reachedServer: Bool {
        switch self {
        case .transport, .timeout, .cancelled: false
        default: true
        }
    }

    /// Whether the server itself ended the stream or broke its negotiation after we logged in
    /// (bad XML, a stream error, an XEP-0198 failure, a `<resumed/>` nobody asked for, a bind
    /// it answers with nonsense), rather than the link failing under it: it will do the same
    /// at the next login (DESIGN §6).
    ///
    /// A server's `not-well-formed` or `connection-timeout` is left out: those follow a link
    /// that broke mid-stanza or went quiet (Prosody 0.12 reads a cut connection's last bytes
    /// into the resumed stream, then closes it as not-well-formed), not a fault that repeats.
    public var isServerFault: Bool {
        switch self {
        // A Store that cannot take a burst will not take it after the next login either.
        case .parser, .streamManagement, .storeFailed: true
        case .stream(let error): !["not-well-formed", "connection-timeout"].contains(error.condition)
        case .negotiation(let error):
            switch error {
            case .unexpected, .streamManagement, .bindFailed: true
            default: false
            }
        default: false
        }
    }

    /// Errors after which reconnecting cannot help until the user acts.
    public var isPermanent: Bool {
        switch self {
        case .tls(let error): error.isTrustFailure
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

/// One XMPP client connection: the only door to its I/O thread, the IQ tracker, and the
/// XEP-0198 counters.
///
/// Stanzas arrive in order through `nextEvent()`; replies to our own IQ requests are routed
/// to the awaiting `request` call instead (RFC 6120 §8.2.3), after checking they come from
/// the entity we asked.
///
/// Stanza bursts (one per read) wait here for the consumer. What waits is bounded by the I/O
/// thread's read-ahead (`StreamIO.readAheadLimit`), which the consumer's `handled` frees
/// again (DESIGN §7).
///
/// Stream management lives here because only this actor sees every stanza in the order it
/// is written: counting elsewhere could number two concurrent sends in the wrong order.
/// Inbound stanzas are counted only when the consumer reports a burst `handled`, after
/// its Store commit (DESIGN §6).
public actor Connection {
    public enum Event: Sendable {
        /// Stanzas that arrived together, in order. Report `handled(batch)` once they are stored.
        case stanzas([Element], InboundBatch)
        /// The server confirmed these stanza keys (XEP-0198 `<a/>`), oldest first.
        case acked([String])
        case closed(ConnectionError?)
    }

    /// What one burst counts for XEP-0198, claimed iq replies and dropped stanzas included.
    public struct InboundBatch: Sendable {
        let countable: Int
        let ackRequested: Bool
        /// The input these stanzas took: read-ahead to give back once they are handled.
        let bytes: Int
        /// Stanzas of the burst skipped for crossing a per-stanza limit, other than replies
        /// to our own requests (those fail the request): for the consumer to report.
        public let dropped: [DroppedStanza]

        /// Takes in the burst that came after this one.
        mutating func absorb(_ later: InboundBatch) {
            self = InboundBatch(
                countable: countable + later.countable, ackRequested: ackRequested || later.ackRequested,
                bytes: bytes + later.bytes, dropped: dropped + later.dropped)
        }
    }

    /// Input whose stanzas may come as one burst: larger transactions gain little past this
    /// (issue 12's note), and the parsed stanzas and their rows are what peak memory holds.
    static let burstMergeLimit = 256 * 1024

    /// Events not yet taken by `nextEvent()`, oldest first, and the consumer waiting for one.
    private var queued: [Event] = []
    private var eventWaiter: CheckedContinuation<Event?, Never>?
    private var eventsFinished = false
    public let configuration: ConnectionConfiguration
    public private(set) var session: StreamNegotiator.Session?
    private var io: (any StreamTransport)?
    private var pending: [String: PendingRequest] = [:]
    private var routing: Task<Void, Never>?
    private var closedWaiters: [CheckedContinuation<Void, Never>] = []
    private var isClosed = false
    private var streamManagement: StreamManagement?
    private static let ackRequestText = (try? XMLSerializer.serialize(Element("r", namespace: NS.sm))) ?? ""

    struct PendingRequest {
        let to: String?
        let continuation: CheckedContinuation<Element, any Error>
    }

    public init(configuration: ConnectionConfiguration) {
        self.configuration = configuration
    }

    /// The next event, nil once the connection has closed and every event was taken. One
    /// consumer only. Bursts that queued up while the consumer was busy come as one, up to
    /// `burstMergeLimit` bytes of input: the consumer then stores them in one transaction,
    /// which is what lets a slow Store catch up (DESIGN §7).
    public func nextEvent() async -> Event? {
        if queued.isEmpty {
            if eventsFinished { return nil }
            return await withCheckedContinuation { eventWaiter = $0 }
        }
        let first = queued.removeFirst()
        guard case .stanzas(var elements, var batch) = first else { return first }
        while batch.bytes < Self.burstMergeLimit, case .stanzas(let more, let moreBatch)? = queued.first {
            queued.removeFirst()
            elements += more
            batch.absorb(moreBatch)
        }
        return .stanzas(elements, batch)
    }

    /// `nextEvent()` as a sequence, for consumers that take events one at a time. Bursts still
    /// hold read-ahead until they are `handled`.
    public nonisolated var events: AsyncStream<Event> {
        AsyncStream(unfolding: { await self.nextEvent() })
    }

    private func emit(_ event: Event) {
        if let waiter = eventWaiter {
            eventWaiter = nil
            waiter.resume(returning: event)
        } else {
            queued.append(event)
        }
    }

    private func finishEvents() {
        eventsFinished = true
        if let waiter = eventWaiter {
            eventWaiter = nil
            waiter.resume(returning: nil)
        }
    }

    /// Connects, secures and authenticates the stream, and binds the resource.
    public func connect() async throws(ConnectionError) -> StreamNegotiator.Session {
        switch try await open() {
        case .bound(let session): return session
        case .securedForRegistration: throw .negotiation(.unexpected("a registration stream where a login was asked for"))
        case .certificate: throw .negotiation(.unexpected("a certificate probe where a login was asked for"))
        }
    }

    /// Connects and secures the stream with verified TLS, without authenticating, for XEP-0077
    /// registration (`configuration.purpose` must be `.register`). Returns the stream features.
    public func connectForRegistration() async throws(ConnectionError) -> Element {
        switch try await open() {
        case .securedForRegistration(let features): return features
        case .bound: throw .negotiation(.unexpected("a login where a registration stream was asked for"))
        case .certificate: throw .negotiation(.unexpected("a certificate probe where a registration stream was asked for"))
        }
    }

    /// Connects and runs the TLS handshake as `connect` does (STARTTLS through the negotiator,
    /// or direct TLS), then closes: the server's certificate and whether it verified
    /// (`configuration.purpose` must be `.certificate`).
    public func fetchCertificate() async throws(ConnectionError) -> CertificateProbe.Result {
        switch try await open() {
        case .certificate(let result): return result
        case .bound, .securedForRegistration: throw .negotiation(.unexpected("a stream where a certificate probe was asked for"))
        }
    }

    private func open() async throws(ConnectionError) -> StreamIO.Negotiated {
        let (inbound, sink) = AsyncStream<StreamIO.Event>.makeStream(bufferingPolicy: .unbounded)
        let io: any StreamTransport
        if let embedded = configuration.embedded {
            embedded.attach(events: sink)
            io = embedded
        } else {
            io = try StreamIO(configuration: configuration, events: sink)
        }
        self.io = io
        let result: Result<StreamIO.Negotiated, ConnectionError> = await withCheckedContinuation { continuation in
            io.start { continuation.resume(returning: $0) }
        }
        switch result {
        case .success(let negotiated):
            if case .bound(let session) = negotiated {
                self.session = session
                // Saved by the caller, together with what the start settled (see SyncEngine.connect).
                streamManagement = session.streamManagement
            }
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
    ///
    /// Under XEP-0198 each counted stanza is remembered by its own text (`transientKey`), so
    /// whatever the server did not confirm can be written again after a resumption.
    public func send(_ elements: [Element]) throws(ConnectionError) {
        var texts: [String] = []
        var keys: [String?] = []
        texts.reserveCapacity(elements.count)
        for element in elements {
            let text: String
            do { text = try XMLSerializer.serialize(element) } catch { throw .serialization("\(error)") }
            texts.append(text)
            keys.append(Stanza.isCountable(element) ? Self.transientKey(text) : nil)
        }
        let save = configuration.saveStreamManagement
        let counted = keys.contains { $0 != nil }
        try write(texts, keys: keys) { snapshot in
            if counted, let snapshot { try save?(snapshot) }
        }
    }

    public func send(_ element: Element) throws(ConnectionError) {
        try send([element])
    }

    /// Queues already-serialised stanzas under the caller's keys (the outbox keeps them
    /// serialised). `commit` runs first with the XEP-0198 state to save (nil without SM):
    /// the outbox marks its rows sent and saves it in one transaction; if it throws,
    /// nothing is written.
    public func sendSerialized(
        _ texts: [String], keys: [String], commit: (StreamManagement.Snapshot?) throws -> Void
    ) throws(ConnectionError) {
        try write(texts, keys: keys, commit: commit)
    }

    /// The key a stanza sent through `send` is counted under: its own text.
    public static func transientKey(_ text: String) -> String { "x:" + text }

    /// The text behind a `transientKey`, to write it again after a resumption.
    public static func text(ofTransientKey key: String) -> String? {
        key.hasPrefix("x:") ? String(key.dropFirst(2)) : nil
    }

    private func write(
        _ texts: [String], keys: [String?], commit: (StreamManagement.Snapshot?) throws -> Void
    ) throws(ConnectionError) {
        guard let io, !isClosed else { throw .closed }
        guard var machine = streamManagement, machine.isActive else {
            do { try commit(nil) } catch { throw .commit(error) }
            io.enqueue(texts)
            return
        }
        let now = ContinuousClock.now
        for case let key? in keys { machine.countedStanzaSent(key: key, now: now) }
        var out = texts
        if machine.shouldRequestAck(now: now) {
            _ = machine.ackRequest(now: now)
            out.append(Self.ackRequestText)
        }
        do { try commit(machine.snapshot) } catch { throw .commit(error) }
        streamManagement = machine
        io.enqueue(out)
    }

    /// Counts a consumed burst as handled (XEP-0198 §4: only after it is stored), and
    /// answers the server's ack request if the burst carried one.
    public func handled(_ batch: InboundBatch) {
        io?.consumed(batch.bytes)
        guard let io, !isClosed, var machine = streamManagement, machine.isActive else { return }
        for _ in 0..<batch.countable { machine.stanzaReceived() }
        if batch.countable > 0 { try? configuration.saveStreamManagement?(machine.snapshot) }
        streamManagement = machine
        if batch.ackRequested, let answer = try? XMLSerializer.serialize(machine.ackElement) {
            io.enqueue([answer])
        }
    }

    /// Asks the server to confirm what it has (an explicit `<r/>`, e.g. before a clean close).
    public func requestAck() {
        guard let io, !isClosed, var machine = streamManagement, machine.isActive else { return }
        _ = machine.ackRequest(now: .now)
        streamManagement = machine
        io.enqueue([Self.ackRequestText])
    }

    /// Periodic upkeep: an ack request whose batch is due by time, and dead-link detection
    /// when an `<r/>` has gone unanswered for `ackTimeout` (XEP-0198 §4).
    public func tick() {
        guard let io, !isClosed, var machine = streamManagement, machine.isActive else { return }
        let now = ContinuousClock.now
        // An answer may wait behind a backlog we read at the Store's pace: a link that keeps
        // bringing bytes, or that we stopped reading ourselves, is not dead.
        if let asked = machine.ackRequestedAt, asked.duration(to: now) > configuration.ackTimeout,
            !io.isReceiving(within: configuration.ackTimeout)
        {
            io.requestAbort(.timeout("the server did not answer an ack request"))
            return
        }
        if machine.shouldRequestAck(now: now) {
            _ = machine.ackRequest(now: now)
            streamManagement = machine
            io.enqueue([Self.ackRequestText])
        }
    }

    /// Input read and handed on whose stanzas are not yet `handled` (back-pressure, tests).
    var readAheadInUse: Int { io?.unconsumedBytes ?? 0 }

    /// Whether the stream is still up (negotiated and not yet closed).
    public var isOpen: Bool { io != nil && !isClosed }

    /// Whether the server has taken nothing we wrote for a while: asking it for anything now
    /// (an ack before closing, say) would only wait.
    public var isWriteStalled: Bool { io?.isWriteStalled(longerThan: .milliseconds(500)) ?? false }

    /// Whether this stream can be resumed after the link drops.
    public var isResumable: Bool { streamManagement?.snapshot.canResume ?? false }

    /// Whether XEP-0198 acks are being counted on this stream (without them none will come).
    public var countsAcks: Bool { streamManagement?.isActive ?? false }

    /// Drops the link without closing the stream, so the session stays resumable.
    public func abort(_ reason: ConnectionError = .closed) {
        io?.requestAbort(reason)
    }

    /// Sends an IQ get or set and waits for its result or error (RFC 6120 §8.2.3).
    /// An `error` reply throws its `StanzaError`.
    public func request(_ iq: Element, timeout: Duration = .seconds(30)) async throws -> Element {
        let reply = try await exchange(iq, timeout: timeout)
        if reply["type"] == "error" {
            throw IQ(reply)?.error ?? StanzaError(type: "cancel", condition: "undefined-condition")
        }
        return reply
    }

    /// Sends an IQ and returns its reply as it came, an error reply included (when who
    /// answered matters, as in XEP-0410).
    public func exchange(_ iq: Element, timeout: Duration = .seconds(30)) async throws -> Element {
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
        return reply
    }

    /// Closes the stream cleanly and waits until the I/O thread has finished.
    public func close() async {
        guard let io, !isClosed else { return }
        // A clean close ends any XEP-0198 session; tell the server what we handled first.
        if let machine = streamManagement, machine.isActive, let answer = try? XMLSerializer.serialize(machine.ackElement) {
            io.enqueue([answer])
        }
        io.requestClose()
        await withCheckedContinuation { closedWaiters.append($0) }
    }

    public func nextID() -> String {
        UUID().uuidString.lowercased()
    }

    // MARK: - Routing

    private func route(_ event: StreamIO.Event) {
        switch event {
        case .stanzas(let elements, let dropped, let bytes):
            var unclaimed: [Element] = []
            var countable = 0
            var ackRequested = false
            for element in elements {
                if element.namespace == NS.sm {
                    if element.name == "r" { ackRequested = true } else if element.name == "a" { handleAck(element) }
                    continue
                }
                if Stanza.isCountable(element) { countable += 1 }
                if !claimReply(element) { unclaimed.append(element) }
            }
            // A dropped stanza was received all the same: it counts for `h` (DESIGN §6).
            var unreported: [DroppedStanza] = []
            for stanza in dropped {
                if stanza.isStanza { countable += 1 }
                if !failRequest(answeredBy: stanza) { unreported.append(stanza) }
            }
            if !unclaimed.isEmpty || countable > 0 || ackRequested || !unreported.isEmpty {
                emit(.stanzas(unclaimed, InboundBatch(countable: countable, ackRequested: ackRequested, bytes: bytes, dropped: unreported)))
            } else {
                io?.consumed(bytes)
            }
        case .closed(let error):
            isClosed = true
            streamManagement?.connectionLost()
            for (_, request) in pending { request.continuation.resume(throwing: error ?? .closed) }
            pending.removeAll()
            emit(.closed(error))
            finishEvents()
            closedWaiters.forEach { $0.resume() }
            closedWaiters.removeAll()
        }
    }

    /// The server's `<a h/>`: a bad or too-high `h` is fatal to the stream (XEP-0198 §6).
    private func handleAck(_ element: Element) {
        guard var machine = streamManagement, machine.isActive, let io else { return }
        do throws(SMError) {
            let keys = try machine.handle(ack: element)
            streamManagement = machine
            try? configuration.saveStreamManagement?(machine.snapshot)
            if !keys.isEmpty { emit(.acked(keys)) }
        } catch {
            // Counting goes on until the link is down, so whatever is written meanwhile is in the
            // saved queue that the engine puts back in the outbox (the stream cannot be resumed).
            io.requestAbort(
                .streamManagement(error),
                finalWords: (try? XMLSerializer.serialize(error.streamError)).map { $0 + XMLSerializer.streamFooter })
        }
    }

    /// Resumes the `request` waiting for this iq reply, if there is one.
    private func claimReply(_ element: Element) -> Bool {
        guard let request = takeRequest(repliedBy: element) else { return false }
        request.continuation.resume(returning: element)
        return true
    }

    /// A reply to one of our requests that was too large to read fails that request at
    /// once, rather than leaving it to time out.
    private func failRequest(answeredBy dropped: DroppedStanza) -> Bool {
        guard let reply = dropped.partial, let request = takeRequest(repliedBy: reply) else { return false }
        request.continuation.resume(
            throwing: StanzaError(type: "cancel", condition: "policy-violation", text: "the reply was too large: \(dropped.reason)"))
        return true
    }

    /// The request `element` answers, taken off the pending list: an iq result or error with
    /// its id, from the entity we asked (RFC 6120 §8.2.3).
    private func takeRequest(repliedBy element: Element) -> PendingRequest? {
        guard element.name == "iq", element.namespace == NS.client,
            let type = element["type"], type == "result" || type == "error",
            let id = element["id"], let request = pending[id], isExpectedReplier(element["from"], for: request.to)
        else { return nil }
        pending[id] = nil
        return request
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
