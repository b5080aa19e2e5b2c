import Foundation
import Synchronization

/// The I/O thread of one connection: it owns the socket, the TLS session and the parser.
///
/// GnuTLS and the socket are blocking C resources; running them on Swift's cooperative pool
/// (two threads on a two-core machine) would stall every task, so each connection gets one
/// dedicated thread that does all reading, writing and negotiation. Other threads talk to it
/// only through the lock-protected write queue and a wake pipe; it talks back through an
/// `AsyncStream`. That is what makes the `@unchecked Sendable` below sound: every other stored
/// property is touched only on the I/O thread.
final class StreamIO: StreamTransport, @unchecked Sendable {
    enum Event: Sendable {
        /// Every stanza parsed from one read, so the consumer can commit a burst in one transaction,
        /// and those of the read that were dropped for crossing a per-stanza limit. `bytes` is
        /// what the read took from the socket: hand it back through `consumed` once stored.
        case stanzas([Element], dropped: [DroppedStanza], bytes: Int)
        case closed(ConnectionError?)
    }

    struct Shared {
        var writes: [String] = []
        /// When a clean close was asked for; nil until then.
        var closeRequestedAt: ContinuousClock.Instant?
        /// Set to drop the link at once, without `</stream:stream>` (which would end a
        /// XEP-0198 session the server could otherwise resume).
        var abortReason: ConnectionError?
        /// Written just before an abort: a stream error that tells the server why.
        var finalWords: String?
        /// Since when a write has waited for the server to take a byte; nil when none waits.
        var writeWaitingSince: ContinuousClock.Instant?
        /// Bytes read and handed on whose stanzas are not yet stored (`consumed`).
        var unconsumedBytes = 0
        /// When the last read brought bytes.
        var lastInboundAt = ContinuousClock.now
    }

    /// Back-pressure (DESIGN §7): with this much read and not yet stored, the thread stops
    /// reading until the consumer catches up, and TCP pushes back on the server. It bounds the
    /// memory a backlog can take, whatever its size.
    static let readAheadLimit = 1 << 20

    /// How long writes may go on once a close is asked for: the user who quits does not wait
    /// for a server that stopped reading, or reads a byte at a time.
    static let closeGrace: Duration = .seconds(1)

    private let configuration: ConnectionConfiguration
    private let events: AsyncStream<Event>.Continuation
    private let shared = Mutex(Shared())
    private let wakePipe: (read: Int32, write: Int32)

    // I/O-thread state.
    private var socket: TCPSocket?
    private var tls: TLSSession?
    private var parser = StreamParser()
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    /// What arrived in the same read as the end of negotiation (a resumed session's
    /// redelivered stanzas, say): the main loop handles it before reading again.
    private var leftover: [StreamEvent] = []
    /// The XEP-0198 state to resume or enable, less a resumption location that failed.
    private var streamManagement: StreamManagement?
    /// Why a write gave up: a TLS record may be half-written, so nothing else may follow it.
    private var brokenWrite: ConnectionError?
    /// How many bytes the last read took from the socket (0 when it took none).
    private var lastReadCount = 0

    init(configuration: ConnectionConfiguration, events: AsyncStream<Event>.Continuation) throws(ConnectionError) {
        self.configuration = configuration
        self.events = events
        streamManagement = configuration.streamManagement
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw .transport("cannot create a wake pipe: \(String(cString: strerror(errno)))") }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakePipe = (fds[0], fds[1])
    }

    deinit {
        close(wakePipe.read)
        close(wakePipe.write)
    }

    /// How negotiation ended: a bound session, (registration) a secured, unauthenticated
    /// stream, or (certificate probe) the server's certificate, the link then closed.
    enum Negotiated: Sendable {
        case bound(StreamNegotiator.Session)
        case securedForRegistration(features: Element)
        case certificate(CertificateProbe.Result)
    }

    /// Starts the thread. `established` is called exactly once, with the session or the reason it failed.
    func start(established: @escaping @Sendable (Result<Negotiated, ConnectionError>) -> Void) {
        let thread = Thread { [self] in self.run(established: established) }
        thread.name = "tern-io"
        thread.start()
    }

    /// Queues serialised stanzas for writing; safe from any thread.
    func enqueue(_ text: [String]) {
        shared.withLock { $0.writes.append(contentsOf: text) }
        wake()
    }

    /// Asks for a clean close: pending writes, `</stream:stream>`, then wait briefly for the server's close.
    func requestClose() {
        shared.withLock { if $0.closeRequestedAt == nil { $0.closeRequestedAt = .now } }
        wake()
    }

    /// Drops the connection without closing the stream (a dead link, or a fault test).
    /// `finalWords` (a stream error and the closing tag) go out in place of anything still queued.
    func requestAbort(_ reason: ConnectionError, finalWords: String? = nil) {
        shared.withLock { state in
            guard state.abortReason == nil else { return }
            state.abortReason = reason
            state.finalWords = finalWords
        }
        wake()
    }

    /// The consumer has stored (or set aside) stanzas that took `bytes` of input: reading may
    /// go on if it had stopped for them. Safe from any thread.
    func consumed(_ bytes: Int) {
        let resume = shared.withLock { state in
            let wasFull = state.unconsumedBytes >= Self.readAheadLimit
            state.unconsumedBytes = max(0, state.unconsumedBytes - bytes)
            return wasFull && state.unconsumedBytes < Self.readAheadLimit
        }
        if resume { wake() }
    }

    var unconsumedBytes: Int { shared.withLock { $0.unconsumedBytes } }

    /// Whether bytes came in within `duration`, or reading is paused for the consumer (then
    /// what the server sends waits in the kernel, and its silence proves nothing).
    func isReceiving(within duration: Duration) -> Bool {
        shared.withLock { $0.unconsumedBytes >= Self.readAheadLimit || ContinuousClock.now - $0.lastInboundAt < duration }
    }

    /// Whether a write has waited longer than `duration` for the server to take a byte.
    func isWriteStalled(longerThan duration: Duration) -> Bool {
        shared.withLock { $0.writeWaitingSince.map { ContinuousClock.now - $0 > duration } ?? false }
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakePipe.write, &byte, 1)
    }

    // MARK: - The thread

    private func run(established: @Sendable (Result<Negotiated, ConnectionError>) -> Void) {
        var didEstablish = false
        do {
            let negotiated = try connectAndNegotiate()
            didEstablish = true
            established(.success(negotiated))
            // A certificate probe has what it came for: no stream to run.
            if case .certificate = negotiated {} else { try mainLoop() }
            events.yield(.closed(nil))
        } catch {
            if didEstablish {
                events.yield(.closed(error))
            } else {
                established(.failure(error))
            }
        }
        if shared.withLock({ $0.abortReason == nil }), brokenWrite == nil { tls?.bye() }
        tls = nil
        socket?.close()
        socket = nil
        events.finish()
    }

    private func connectAndNegotiate() throws(ConnectionError) -> Negotiated {
        let domain = configuration.jid.domain
        var endpoints = configuration.endpoint.map { [$0] } ?? configuration.lookupEndpoints(domain)
        // XEP-0198 §5: a resumable session is tried first where the server asked. A location
        // that fails in any way (unreachable, untrusted, not XMPP) is forgotten, and the usual
        // endpoints are tried in this same attempt: it was only ever a hint.
        if let location = configuration.resumptionLocation, !endpoints.isEmpty {
            endpoints.removeAll { $0 == location }
            do throws(ConnectionError) {
                try connect(to: location)
                return try establish(at: location)
            } catch .cancelled {
                throw .cancelled
            } catch {
                dropLink()
                forgetLocation()
            }
        }
        var lastError: ConnectionError = .transport("no address found for \(domain)")
        for endpoint in endpoints {
            do throws(ConnectionError) {
                try connect(to: endpoint)
            } catch .cancelled {
                throw .cancelled
            } catch {
                lastError = error  // not reached: the next endpoint may be
                continue
            }
            return try establish(at: endpoint)
        }
        throw lastError
    }

    /// The TCP connection to `endpoint`.
    private func connect(to endpoint: Endpoint) throws(ConnectionError) {
        if isCloseRequested { throw .cancelled }
        do throws(TransportError) {
            socket = try TCPSocket.connect(host: endpoint.host, port: endpoint.port, timeout: configuration.connectTimeout)
        } catch {
            throw .transport("\(error)")
        }
    }

    /// TLS (at once, for direct TLS) and the stream's negotiation on the connected socket.
    private func establish(at endpoint: Endpoint) throws(ConnectionError) -> Negotiated {
        var tlsInfo: StreamNegotiator.TLSInfo?
        if endpoint.directTLS {
            // Direct TLS has no STARTTLS to negotiate: a probe has its certificate at once.
            if configuration.purpose == .certificate { return .certificate(try inspectCertificate(alpn: ["xmpp-client"])) }
            tlsInfo = try startTLS(alpn: ["xmpp-client"])
        }
        return try negotiate(tls: tlsInfo)
    }

    /// Forgets what a failed attempt left, so the next endpoint starts afresh.
    private func dropLink() {
        tls = nil
        socket?.close()
        socket = nil
        parser = StreamParser()
        leftover = []
        brokenWrite = nil
    }

    /// Clears the failed resumption location, here and in the saved state.
    private func forgetLocation() {
        guard var machine = streamManagement else { return }
        machine.forgetLocation()
        streamManagement = machine
        try? configuration.saveStreamManagement?(machine.snapshot)
    }

    /// The TLS handshake on the socket, and why the peer is not trusted if it is not (the
    /// session is then unusable for data).
    private func handshake(alpn: [String]) throws(ConnectionError) -> (TLSSession, untrusted: TLSError?) {
        guard let socket else { throw .transport("not connected") }
        let session: TLSSession
        do throws(TLSError) {
            session = try TLSSession(fd: socket.fd, serverName: configuration.jid.domain, trust: configuration.trust, alpn: alpn)
        } catch {
            throw .tls(error)
        }
        do throws(TLSError) {
            try session.handshake(timeout: configuration.connectTimeout)
            return (session, nil)
        } catch {
            return (session, error)
        }
    }

    private func startTLS(alpn: [String] = []) throws(ConnectionError) -> StreamNegotiator.TLSInfo {
        let (session, untrusted) = try handshake(alpn: alpn)
        if let untrusted { throw .tls(untrusted) }
        tls = session
        var bindings: [String: [UInt8]] = [:]
        for type in session.availableChannelBindings {
            if let data = session.channelBinding(type) { bindings[type] = data }
        }
        return StreamNegotiator.TLSInfo(isTLS13: session.isTLS13, channelBindings: bindings)
    }

    /// The certificate probe's handshake: the server's certificate, trusted or not. The session
    /// ends there, so nothing is ever sent over a TLS session that did not verify.
    private func inspectCertificate(alpn: [String] = []) throws(ConnectionError) -> CertificateProbe.Result {
        let (session, untrusted) = try handshake(alpn: alpn)
        guard let certificate = session.peerCertificate else { throw .tls(untrusted ?? .noPeerCertificate) }
        session.bye()
        return CertificateProbe.Result(certificate: certificate, verificationError: untrusted)
    }

    private func negotiate(tls initialTLS: StreamNegotiator.TLSInfo?) throws(ConnectionError) -> Negotiated {
        var negotiator = StreamNegotiator(
            configuration: .init(
                jid: configuration.jid, resource: configuration.resource, credential: configuration.credential,
                purpose: configuration.purpose, streamManagement: streamManagement),
            tls: initialTLS)
        let deadline = ContinuousClock.now + configuration.negotiationTimeout
        var actions = negotiator.start()
        while true {
            var restartedForTLS = false
            for action in actions {
                switch action {
                case .openStream(let restart):
                    if restart { parser = StreamParser() }
                    try writeNow(XMLSerializer.streamHeader(to: configuration.jid.domain, lang: "en"))
                case .send(let element):
                    try writeNow(try serialize(element))
                case .startTLS:
                    // Plaintext read behind <proceed/> is dropped with the old parser; bytes that come
                    // later land in the handshake, which then fails.
                    let info = try startTLS()
                    actions = negotiator.handle(.tlsEstablished(info))
                    restartedForTLS = true
                case .established(let session):
                    return .bound(session)
                case .securedForRegistration(let features):
                    return .securedForRegistration(features: features)
                case .inspectCertificate:
                    return .certificate(try inspectCertificate())
                case .fail(let error):
                    throw .negotiation(error)
                }
                if restartedForTLS { break }
            }
            if restartedForTLS { continue }
            actions = []
            // close() during negotiation (the user quit while we were connecting) ends it now.
            if isCloseRequested { throw .cancelled }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { throw .timeout("stream negotiation") }
            let (events, parseError) = try readParsed(timeout: remaining)
            var restarting = false
            for (index, event) in events.enumerated() {
                switch event {
                case .streamOpened(let attributes): actions += negotiator.handle(.streamOpened(attributes: attributes))
                case .element(let element): actions += negotiator.handle(.element(element))
                case .streamClosed: actions += negotiator.handle(.streamClosed)
                case .dropped(let dropped): actions += negotiator.handle(.dropped(dropped))
                }
                if negotiator.isFinished {
                    leftover = Array(events[(index + 1)...])
                    break
                }
                // After a restart-triggering element, later bytes belong to a stream we have not opened
                // yet: junk to discard (DESIGN §6, plaintext after <proceed/>), even when malformed.
                if actions.contains(where: \.restartsStream) {
                    restarting = true
                    break
                }
            }
            if let parseError, !restarting { try reject(parseError) }
        }
    }

    private func mainLoop() throws(ConnectionError) {
        var closingSince: ContinuousClock.Instant?
        var pending = leftover
        leftover = []
        while true {
            let (writes, closeRequested, abortReason, finalWords) = shared.withLock { state in
                defer { state.writes.removeAll(keepingCapacity: true) }
                return (state.writes, state.closeRequestedAt != nil, state.abortReason, state.finalWords)
            }
            if let abortReason {
                // Only if there is room: an abort never waits for the server.
                if let finalWords { try? writeNow(finalWords) }
                throw abortReason
            }
            if !writes.isEmpty { try writeNow(writes.joined()) }
            if closeRequested, closingSince == nil {
                // A server that takes not even this will not answer it: no point waiting.
                try writeNow(XMLSerializer.streamFooter)
                closingSince = .now
            }
            var timeout: Duration? = nil
            if let closingSince {
                let left = .seconds(2) - (ContinuousClock.now - closingSince)
                if left <= .zero { return }
                timeout = left
            }
            var burst: [Element] = []
            var dropped: [DroppedStanza] = []
            var bytes = 0
            defer {
                if !burst.isEmpty || !dropped.isEmpty {
                    shared.withLock { $0.unconsumedBytes += bytes }
                    events.yield(.stanzas(burst, dropped: dropped, bytes: bytes))
                }
            }
            let events: [StreamEvent]
            if !pending.isEmpty {
                events = pending
            } else if shared.withLock({ $0.unconsumedBytes >= Self.readAheadLimit }) {
                // The Store is behind: leave the bytes with the kernel (and the server) until
                // `consumed` wakes us; writes, close and abort stay live meanwhile.
                waitForWake(timeout: timeout)
                continue
            } else {
                (events, bytes) = try readEvents(timeout: timeout)
                if bytes > 0 { shared.withLock { $0.lastInboundAt = .now } }
            }
            pending = []
            for event in events {
                switch event {
                case .element(let element):
                    if StreamError.isStreamError(element) { throw .stream(StreamError(element)) }
                    burst.append(element)
                case .streamClosed:
                    if closingSince == nil { try? writeNow(XMLSerializer.streamFooter) }
                    return
                case .streamOpened:
                    throw .parser(.notWellFormed("a second stream header"))
                case .dropped(let stanza):
                    dropped.append(stanza)
                }
            }
        }
    }

    private var isCloseRequested: Bool { shared.withLock { $0.closeRequestedAt != nil } }

    // MARK: - Bytes

    /// Waits (up to `timeout`, forever when nil) for bytes or a wake-up, and parses what
    /// arrived. Returns the events and how many bytes the read took.
    private func readEvents(timeout: Duration?) throws(ConnectionError) -> (events: [StreamEvent], bytes: Int) {
        let (events, parseError) = try readParsed(timeout: timeout)
        if let parseError { try reject(parseError) }
        return (events, lastReadCount)
    }

    /// Waits (up to `timeout`, forever when nil) for a wake-up only, leaving the socket unread.
    private func waitForWake(timeout: Duration?) {
        var fds = [pollfd(fd: wakePipe.read, events: Int16(POLLIN), revents: 0)]
        let milliseconds = timeout.map { Int32(clamping: max(0, $0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000)) } ?? -1
        if poll(&fds, 1, milliseconds) > 0 { drainWakePipe() }
    }

    /// As `readEvents`, but bad XML comes back beside the events completed before it.
    private func readParsed(timeout: Duration?) throws(ConnectionError) -> (events: [StreamEvent], error: XMLStreamError?) {
        lastReadCount = 0
        guard let socket else { throw .closed }
        if (tls?.pendingBytes ?? 0) == 0 {
            switch socket.poll(wakeFD: wakePipe.read, timeout: timeout) {
            case .woken:
                drainWakePipe()
                return ([], nil)
            case .timeout:
                return ([], nil)
            case .readable, .writable, .hangup:
                break
            }
        }
        // The stdlib's buffer accessors rethrow untyped errors, so results cross them as `Result`.
        let received: Result<Int, ConnectionError> = readBuffer.withUnsafeMutableBytes { buffer in
            if let tls {
                do throws(TLSError) {
                    return .success(try tls.receive(into: buffer))
                } catch .receiveTimedOut {
                    return .success(-1)  // a record still arriving: back to the loop, writes and close stay live
                } catch {
                    return .failure(.tls(error))
                }
            }
            do throws(TransportError) {
                return .success(try socket.receive(into: buffer))
            } catch {
                return .failure(.transport("\(error)"))
            }
        }
        let count = try received.get()
        lastReadCount = max(0, count)
        if count < 0 { return ([], nil) }
        if count == 0 { throw .closed }
        return readBuffer.withUnsafeBytes { buffer in
            parser.feedKeepingCompleted(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    /// RFC 6120 §4.9.3: tells the server why before closing.
    private func reject(_ error: XMLStreamError) throws(ConnectionError) -> Never {
        let streamError = StreamError(condition: error.condition)
        if let text = try? XMLSerializer.serialize(streamError.element, parentNamespace: NS.stream) {
            try? writeNow(text + XMLSerializer.streamFooter)
        }
        throw .parser(error)
    }

    private func drainWakePipe() {
        var sink = [UInt8](repeating: 0, count: 64)
        while read(wakePipe.read, &sink, sink.count) > 0 {}
    }

    private func serialize(_ element: Element) throws(ConnectionError) -> String {
        do { return try XMLSerializer.serialize(element) } catch { throw .serialization("\(error)") }
    }

    /// Writes all of `text`, waiting on the socket whenever its buffer is full. Gives up when the
    /// server takes nothing for `writeTimeout`, when a close asked for `closeGrace` ago is still
    /// waiting, and at once on an abort: a peer that stops reading never holds this thread (DESIGN §6).
    private func writeNow(_ text: String) throws(ConnectionError) {
        if let brokenWrite { throw brokenWrite }
        guard let socket else { throw .closed }
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return }
        let result: Result<Void, ConnectionError> = bytes.withUnsafeBytes { buffer in
            var offset = 0
            var lastProgress = ContinuousClock.now
            var sawWake = false
            defer {
                shared.withLock { $0.writeWaitingSince = nil }
                // The main loop waits on the same pipe: what woke us must wake it too.
                if sawWake { wake() }
            }
            while offset < buffer.count {
                // After a 0, the same bytes again: TLS must finish the record it sealed from them.
                switch sendAvailable(UnsafeRawBufferPointer(rebasing: buffer[offset...]), on: socket) {
                case .failure(let error):
                    return .failure(error)
                case .success(let count) where count > 0:
                    offset += count
                    lastProgress = .now
                    shared.withLock { $0.writeWaitingSince = nil }
                    continue
                case .success:
                    break
                }
                let (abortReason, closeRequestedAt) = shared.withLock { state in
                    if state.writeWaitingSince == nil { state.writeWaitingSince = lastProgress }
                    return (state.abortReason, state.closeRequestedAt)
                }
                if let abortReason { return .failure(abortReason) }
                var limit = lastProgress + configuration.writeTimeout
                if let closeRequestedAt { limit = min(limit, closeRequestedAt + Self.closeGrace) }
                let left = limit - ContinuousClock.now
                guard left > .zero else { return .failure(.timeout("the server stopped reading what we send")) }
                if socket.poll(for: .writing, wakeFD: wakePipe.read, timeout: left) == .woken {
                    drainWakePipe()
                    sawWake = true
                }
            }
            return .success(())
        }
        do throws(ConnectionError) {
            try result.get()
        } catch {
            brokenWrite = error
            throw error
        }
    }

    private func sendAvailable(_ bytes: UnsafeRawBufferPointer, on socket: TCPSocket) -> Result<Int, ConnectionError> {
        if let tls {
            do throws(TLSError) { return .success(try tls.sendAvailable(bytes)) } catch { return .failure(.tls(error)) }
        }
        do throws(TransportError) { return .success(try socket.sendAvailable(bytes)) } catch {
            return .failure(.transport("\(error)"))
        }
    }
}

extension StreamNegotiator.Action {
    fileprivate var restartsStream: Bool {
        switch self {
        case .startTLS, .openStream(restartParser: true): true
        default: false
        }
    }
}
