import Foundation
import Store
import XMPP

/// Runs one account's connection: it executes what the Store holds (queued messages) and
/// writes everything it learns back into the Store. The UI never calls the connection directly.
public actor SyncEngine {
    /// What happens, for one consumer at a time (bounded: see `EventChannel`).
    public nonisolated var events: EventChannel<SyncEvent>.Events { eventSink.sequence }
    private let eventSink = EventChannel<SyncEvent>(capacity: SyncEngine.eventCapacity)
    /// The connection being dropped because a burst of it could not be stored.
    private var unstoredOn: Connection?
    /// Events a consumer may lag behind before the engine waits for it: a few bursts' worth of lines.
    static let eventCapacity = 1024
    public let store: Store
    public private(set) var account: Account
    private let password: String?
    private var connection: Connection?
    private var session: StreamNegotiator.Session?
    private var consumer: Task<Void, Never>?
    private let flusher: OutboxFlusher
    private var stopped = false
    private var receivedCount = 0
    /// Why the last link ended, when it was not our own clean close.
    private var lastCloseError: ConnectionError?
    /// We are closing the current stream ourselves (a dead link, a stop): a clean close that
    /// follows is not the server's doing.
    private var closingOnPurpose = false
    /// Sessions started from scratch (features run, roster requested); resumptions do not count.
    public private(set) var newSessions = 0
    private var wakeUp: CheckedContinuation<Void, Never>?
    private var sleepGeneration = 0
    /// What the user is doing (XEP-0352); told to the server on every stream that offers it.
    private var clientState: ClientState = .active
    private let features: [any SessionFeature] = SessionFeatures.make()
    private let featureGate = SerialGate()
    /// The connection being negotiated, so `stop()` can cut a slow login short.
    private var connecting: Connection?
    private let adjustConnection: @Sendable (inout ConnectionConfiguration) -> Void

    /// How often an owner looks for rows other processes queued (DESIGN §2: they nudge through the Store).
    public static let outboxPollInterval: Duration = .milliseconds(300)
    public static let keepAliveInterval: Duration = .seconds(60)

    /// - Parameter adjustConnection: changes each connection's settings before it connects
    ///   (timeouts, or where the usual endpoints are looked up), for tests and embedders.
    public init(
        store: Store, account: Account, password: String? = nil,
        adjustConnection: @escaping @Sendable (inout ConnectionConfiguration) -> Void = { _ in }
    ) {
        self.store = store
        self.account = account
        self.password = password
        self.adjustConnection = adjustConnection
        flusher = OutboxFlusher(store: store, accountID: account.rowID, events: eventSink)
    }

    public var isOnline: Bool { session != nil }

    // MARK: - Connecting

    /// Connects and logs in; stores fresh SCRAM keys when the server's salt changed or a password was given.
    public func connect() async throws -> StreamNegotiator.Session {
        guard account.state != .deleted else { throw SyncError.accountDeleted(account.jid) }
        let credential: LoginCredential
        if let password {
            credential = .password(password)
        } else if let stored = try store.credential(accountID: account.rowID),
            let usable = Credentials.loginCredential(from: stored)
        {
            credential = usable
        } else {
            throw SyncError.noCredentials(account.jid)
        }
        report(.connecting, nil)
        var configuration = try Self.configuration(for: account, credential: credential)
        configuration.streamManagement = StreamSession.restore(store: store, accountID: account.rowID)
        configuration.saveStreamManagement = StreamSession.saver(store: store, accountID: account.rowID)
        adjustConnection(&configuration)
        let connection = Connection(configuration: configuration)
        connecting = connection
        defer { connecting = nil }
        let session: StreamNegotiator.Session
        do {
            session = try await connection.connect()
        } catch {
            // A saved session the server rejects as inconsistent must not be tried again.
            if case .negotiation(.streamManagement) = error { StreamSession.abandon(store: store, accountID: account.rowID) }
            report(.offline, error.description)
            throw error
        }
        do {
            try StreamSession.begin(session, store: store, accountID: account.rowID)
        } catch {
            await connection.abort()
            report(.offline, "store error: \(error)")
            throw error
        }
        for key in session.start.acknowledged {
            if let id = StreamSession.outboxID(ofKey: key) { eventSink.yield(.outbox(id: id, state: .acked)) }
        }
        if let password,
            let fresh = Credentials.toStore(after: session, accountID: account.rowID, password: password, remember: false)
        {
            try store.saveCredential(fresh)
        }
        self.connection = connection
        self.session = session
        await flusher.attach(connection)
        lastCloseError = nil
        closingOnPurpose = false
        consumer = Task { [weak self] in
            while let event = await connection.nextEvent() {
                await self?.handle(event, from: connection)
            }
        }
        report(.online, "\(session.boundJID), " + (session.start.isResumed ? "resumed" : "new session"))
        return session
    }

    public static func configuration(for account: Account, credential: LoginCredential) throws -> ConnectionConfiguration {
        let jid = try JID(account.jid)
        let endpoint = account.host.map {
            Endpoint(host: $0, port: UInt16(account.port ?? (account.directTLS ? 5223 : 5222)), directTLS: account.directTLS)
        }
        return ConnectionConfiguration(
            jid: jid, resource: account.resource, credential: credential, endpoint: endpoint,
            trust: TLSTrust(caFile: account.caFile, pinnedSPKISHA256: account.pinnedSPKI))
    }

    /// One pass: connect, announce presence, flush the outbox, wait until the server has
    /// answered everything (offline messages included), and disconnect cleanly.
    ///
    /// A link lost during the pass is reconnected (resuming where the server allows) a few
    /// times before the pass gives up, so what was written is confirmed or resent.
    public func syncOnce(attempts: Int = 3) async -> SyncReport {
        var report = SyncReport(connected: false, sent: 0, received: 0, error: nil)
        for attempt in 1...max(1, attempts) {
            let session: StreamNegotiator.Session
            do {
                session = try await connect()
            } catch {
                let failure = error as? ConnectionError ?? .transport("\(error)")
                report.error = failure
                if failure.isPermanent || attempt == attempts { return report }
                continue
            }
            report.connected = true
            report.resumed = report.resumed || session.start.isResumed
            let flushedBefore = await flusher.flushedCount
            await startSession()
            // The server answers in order: the acks arrive before the barrier's pong.
            await connection?.requestAck()
            await flusher.barrier()
            await flusher.awaitAcks()
            report.sent += await flusher.flushedCount - flushedBefore
            // A link that died during the pass: let the engine take in its close before judging.
            if let link = connection, await !link.isOpen { await consumer?.value }
            guard connection != nil else {
                report.error = lastCloseError ?? .closed
                if report.error?.isPermanent == true { break }
                continue
            }
            if attempt < attempts, await flusher.hasUnconfirmed() {
                // The server stopped confirming without closing (seen once, right after a
                // resumption that raced the killed process's connection): start a fresh
                // session, which sends them again with their same origin-ids.
                await disconnect()
                continue
            }
            report.error = nil
            report.received = receivedCount
            await disconnect()
            return report
        }
        report.received = receivedCount
        return report
    }

    /// Connects, starts the session (features, initial presence, outbox), runs `body` on it, waits
    /// until the server has answered everything, and disconnects: for one-shot commands such as
    /// `tern info` when no other process owns the connection.
    public func withSession<T: Sendable>(_ body: @Sendable (SyncEngine) async throws -> T) async throws -> T {
        _ = try await connect()
        await startSession()
        do {
            let value = try await body(self)
            await flusher.barrier()
            await disconnect()
            return value
        } catch {
            await disconnect()
            throw error
        }
    }

    /// Why `run()` gave up, when that was not `stop()` or a logout: an error that reconnecting
    /// cannot fix (a missing STARTTLS, a failed login, `conflict`, …).
    public private(set) var gaveUp: String?

    /// Stays connected until `stop()`, reconnecting with backoff; flushes whatever gets queued.
    public func run() async {
        // A kill or crash leaves at most a backlog above the index's mark: take it in now.
        store.scheduleSearchIndexing()
        gaveUp = await runUntilStopped()
    }

    private func runUntilStopped() async -> String? {
        var policy = ReconnectPolicy()
        while !stopped {
            var serverReached = true
            if let current = try? store.account(jid: account.jid) { account = current }
            if account.state != .active {
                report(.offline, "\(account.jid) is logged out")
                return nil
            }
            do {
                _ = try await connect()
                policy.connected()
                let loggedIn = ContinuousClock.now
                await startSession()
                await stayOnline()
                policy.sessionEnded(
                    lasted: loggedIn.duration(to: .now),
                    serverFault: lastCloseError.map(\.isServerFault) ?? !closingOnPurpose)
                if let error = lastCloseError, error.isPermanent { return error.description }
            } catch let error as ConnectionError where error.isPermanent {
                report(.offline, error.description)
                return error.description
            } catch let error as SyncError {
                report(.offline, error.description)
                return error.description
            } catch {
                // Reported by connect(); wait and try again.
                let failure = error as? ConnectionError
                serverReached = failure?.reachedServer ?? false
                if let failure, failure.isServerFault {
                    // Broken right after login, before a session could even start.
                    lastCloseError = failure
                    policy.sessionEnded(lasted: .zero, serverFault: true)
                }
            }
            if stopped { break }
            let delay = policy.nextDelay(serverReached: serverReached)
            if policy.isLoopingAfterLogin {
                let reason = lastCloseError?.description ?? "the server closed the stream"
                report(.offline, "\(reason); failed right after login \(policy.failuresAfterLogin) times in a row, next try in \(Self.spoken(delay))")
                eventSink.yield(.retrying(reason: reason, delay: delay, failures: policy.failuresAfterLogin))
            }
            await sleep(delay)
        }
        report(.offline, nil)
        return nil
    }

    /// "40 s", "4 min": a wait as people say it.
    public static func spoken(_ delay: Duration) -> String {
        let seconds = Int(delay.components.seconds)
        return seconds < 120 ? "\(max(1, seconds)) s" : "\(seconds / 60) min"
    }

    /// Asks `run()` to end: closes the stream cleanly.
    public func stop() async {
        stopped = true
        wakeUp?.resume()
        wakeUp = nil
        await connecting?.close()
        await disconnect()
    }

    /// The shell says whether the user is active; an idle client lets the server hold back
    /// what is not urgent (presence floods, chat states).
    public func setClientState(_ state: ClientState) async {
        guard state != clientState else { return }
        clientState = state
        await announceClientState()
    }

    private func announceClientState() async {
        guard let connection, let session, ClientState.isOffered(in: session.features) else { return }
        try? await connection.send(clientState.element)
    }

    /// Retries now instead of waiting for the backoff (`/sync`).
    public func retryNow() {
        wakeUp?.resume()
        wakeUp = nil
    }

    /// Closes the stream cleanly, which ends the XEP-0198 session too: nothing is left to resume.
    public func disconnect() async {
        guard let connection else { return }
        closingOnPurpose = true
        if session != nil {
            // Whatever is still unconfirmed would be queued again below: ask first, briefly,
            // unless the server stopped reading (DESIGN §6: it cannot hold up a quit).
            if await flusher.unconfirmedCount() > 0, await connection.countsAcks, await !connection.isWriteStalled {
                await connection.requestAck()
                await flusher.barrier(timeout: .seconds(3))
            }
            try? await connection.send(Presence.unavailable.element)
        }
        await connection.close()
        await consumer?.value
        self.connection = nil
        self.session = nil
        // The session ends here. Messages it never confirmed go back to the queue, to be
        // sent again (same origin-id) rather than stranded as `sent` with nothing to resume.
        StreamSession.abandon(store: store, accountID: account.rowID)
        try? store.clearPresence(accountID: account.rowID)
        _ = try? store.resetRoomStates(accountID: account.rowID)
        report(.offline, nil)
    }

    /// Drops the link as a network fault would, leaving the session resumable (fault tests, dead links).
    public func dropLink() async {
        await connection?.abort()
    }

    // MARK: - The session

    /// A resumed session only resends what the server never got: roster, presence and
    /// everything else still stand (XEP-0198 §5). A new session runs the features' start
    /// (roster first, carbons, then initial presence, which makes the server deliver offline
    /// messages). Then the outbox goes out, rows a failed resumption left unconfirmed first
    /// (connect() queued them again), and only then the slow work such as archive catch-up.
    private func startSession() async {
        guard let session else { return }
        if session.start.isResumed {
            await resendTransient(session.start.unconfirmed)
        } else {
            newSessions += 1
            if let context = featureContext() {
                for feature in features { await feature.sessionStarted(context) }
            }
        }
        // Every stream starts active, a resumed one too (XEP-0352 §5.2).
        if clientState == .inactive { await announceClientState() }
        // Outbox rows the server never got were put back in the queue by connect().
        await flush()
        if let context = featureContext() {
            for feature in features { await feature.sessionSettled(context, resumed: session.start.isResumed) }
        }
    }

    /// A resumed session gets again the stanzas other than messages that the server never
    /// got (presence, iq answers), in their order. They only make sense on the session they
    /// were written for, so a new session does not.
    private func resendTransient(_ keys: [String]) async {
        let texts = keys.compactMap(Connection.text(ofTransientKey:))
        guard let connection, !texts.isEmpty else { return }
        let store = store
        let accountID = account.rowID
        try? await connection.sendSerialized(texts, keys: texts.map(Connection.transientKey)) { snapshot in
            try store.markOutboxSent(accountID: accountID, ids: [], streamManagementState: snapshot.flatMap(StreamSession.encode))
        }
    }

    private func stayOnline() async {
        var sinceKeepAlive: Duration = .zero
        while !stopped, session != nil {
            await sleep(Self.outboxPollInterval)
            sinceKeepAlive += Self.outboxPollInterval
            // `tern logout` in another terminal only writes the Store: the owner ends the session.
            if let current = try? store.account(jid: account.jid), current.state != .active {
                account = current
                stopped = true
                await disconnect()
                return
            }
            _ = await flush()
            await connection?.tick()
            if let context = featureContext() {
                for feature in features { await feature.poll(context) }
            }
            if sinceKeepAlive >= Self.keepAliveInterval, let connection {
                sinceKeepAlive = .zero
                do {
                    _ = try await connection.request(Ping.request(id: await connection.nextID()), timeout: .seconds(30))
                } catch is ConnectionError {
                    // A dead link: drop it and let run() reconnect.
                    closingOnPurpose = true
                    await connection.close()
                } catch {
                    // A stanza error still proves the link is alive.
                }
            }
        }
    }

    /// Queues stanzas on the live session (for session features).
    func send(_ elements: [Element]) async throws {
        guard let connection, session != nil else { throw ConnectionError.closed }
        try await connection.send(elements)
    }

    func emit(_ event: SyncEvent) {
        eventSink.yield(event)
    }

    /// Returns once the events' consumer is within its bound (see `EventChannel`).
    func waitForEventRoom() async {
        await eventSink.waitForRoom()
    }

    /// The router of this engine's archive pages (ours and rooms').
    var archiveRouter: ArchiveRouter? { feature(ArchiveFeature.self)?.router }

    /// The running instance of a feature (for the public API that extensions add).
    func feature<Feature: SessionFeature>(_: Feature.Type) -> Feature? {
        features.lazy.compactMap { $0 as? Feature }.first
    }

    func featureContext() -> FeatureContext? {
        guard let session else { return nil }
        return FeatureContext(
            store: store, account: account, boundJID: session.boundJID, engine: self, gate: featureGate,
            streamFeatures: session.features)
    }

    /// An IQ and its reply as it came, error replies included (XEP-0410 self-ping).
    func exchange(_ iq: Element, timeout: Duration) async throws -> Element {
        guard let connection, session != nil else { throw ConnectionError.closed }
        return try await connection.exchange(iq, timeout: timeout)
    }

    /// Sends an IQ over the live session and waits for its reply (for account actions).
    public func request(_ iq: Element, timeout: Duration = .seconds(30)) async throws -> Element {
        guard let connection, session != nil else { throw ConnectionError.closed }
        return try await connection.request(iq, timeout: timeout)
    }

    /// Sends every queued row in creation order, pipelined in one write, then marks them sent.
    @discardableResult
    public func flush() async -> Int {
        guard session != nil else { return 0 }
        return await flusher.flush()
    }

    func countReceived(_ count: Int) {
        receivedCount += count
    }

    private func sleep(_ duration: Duration) async {
        sleepGeneration += 1
        let generation = sleepGeneration
        await withCheckedContinuation { continuation in
            wakeUp = continuation
            Task { [weak self] in
                try? await Task.sleep(for: duration)
                await self?.endSleep(generation)
            }
        }
    }

    /// A timer only ends its own sleep: a stale one (its sleep was cut short by `retryNow`)
    /// must not cut a later backoff short.
    private func endSleep(_ generation: Int) {
        guard generation == sleepGeneration else { return }
        retryNow()
    }

    // MARK: - Inbound

    private func handle(_ event: Connection.Event, from source: Connection) async {
        switch event {
        case .stanzas(let elements, let batch):
            // After a burst that could not be stored nothing more is acknowledged: `h` counts
            // in order (XEP-0198 §4), so a later burst counted would stand for the lost one.
            guard source !== unstoredOn else { return }
            if let fault = await handle(elements) {
                unstoredOn = source
                await source.abort(.storeFailed(fault))
                return
            }
            await reportDropped(batch.dropped)
            await source.handled(batch)
            await eventSink.waitForRoom()
        case .acked(let keys):
            await flusher.acknowledge(keys)
        case .closed(let error):
            if source === unstoredOn { unstoredOn = nil }
            var resumable = await source.isResumable
            if case .streamManagement = error {
                // We ended that stream with a XEP-0198 stream error (§6): it is not resumed, so
                // what it left unconfirmed goes back to the queue for the next session.
                StreamSession.abandon(store: store, accountID: account.rowID)
                resumable = false
            }
            // Contacts' presence stands while the session may still be resumed (RFC 6121 §4
            // via XEP-0198 §5); a new session clears it when it starts.
            if !resumable {
                try? store.clearPresence(accountID: account.rowID)
                _ = try? store.resetRoomStates(accountID: account.rowID)
            }
            session = nil
            connection = nil
            lastCloseError = error
            await flusher.detach(from: source)
            for feature in features { await feature.linkLost(accountID: account.rowID) }
            report(.offline, error?.description)
            if let error, error.isPermanent { stopped = true }
            retryNow()
        }
    }

    /// One burst from the wire, through the features. Returns why the Store failed, when it
    /// did: the burst is then neither answered further nor acknowledged, and the link is
    /// dropped so the server hands it out again (XEP-0198 §5).
    private func handle(_ elements: [Element]) async -> String? {
        guard let context = featureContext() else { return nil }
        do {
            let answers = try await SessionFeatures.dispatch(elements, to: features, context)
            // Everything before a barrier's answer is stored now.
            if !answers.isEmpty { await flusher.reached(answers) }
            return nil
        } catch {
            return Store.reason(error)
        }
    }

    /// Tells the UI what was skipped, and answers the requests among it with an error.
    private func reportDropped(_ dropped: [DroppedStanza]) async {
        guard !dropped.isEmpty else { return }
        let replies = dropped.compactMap(DroppedStanzaReport.reply(to:))
        if !replies.isEmpty { try? await connection?.send(replies) }
        eventSink.yield(.dropped(dropped.map(DroppedStanzaReport.init)))
    }

    private var lastReported: (SyncEvent.ConnectionState, String?)?

    private func report(_ state: SyncEvent.ConnectionState, _ detail: String?) {
        if let lastReported, lastReported.0 == state, lastReported.1 == detail || detail == nil { return }
        lastReported = (state, detail)
        try? store.setConnectionState(accountID: account.rowID, state.rawValue, error: state == .offline ? detail : nil)
        eventSink.yield(.connection(state, detail: detail))
    }
}
