import Foundation
import Synchronization

/// What a `Connection` drives below it: the I/O thread of a real socket (`StreamIO`), or an
/// in-memory server for tests (`EmbeddedTransport`).
protocol StreamTransport: AnyObject, Sendable {
    /// Negotiates (or pretends to); `established` is called exactly once.
    func start(established: @escaping @Sendable (Result<StreamIO.Negotiated, ConnectionError>) -> Void)
    /// Serialised stanzas to write, in order.
    func enqueue(_ text: [String])
    func requestClose()
    func requestAbort(_ reason: ConnectionError, finalWords: String?)
    /// The consumer has stored stanzas that took `bytes` of input (back-pressure).
    func consumed(_ bytes: Int)
    var unconsumedBytes: Int { get }
    func isReceiving(within duration: Duration) -> Bool
    func isWriteStalled(longerThan duration: Duration) -> Bool
}

extension StreamTransport {
    func requestAbort(_ reason: ConnectionError) {
        requestAbort(reason, finalWords: nil)
    }
}

/// An in-memory server for one connection, as NIO's `EmbeddedChannel` is for a pipeline: set it
/// as `ConnectionConfiguration.embedded` and the connection is bound at once to `boundJID`,
/// with no socket, TLS or negotiation. The test hands it stanzas "from the server" with
/// `receive` and reads what the client wrote with `written` / `waitForWrite`.
///
/// One instance serves one connection: a reconnect needs a fresh one.
public final class EmbeddedTransport: StreamTransport, Sendable {
    private struct State {
        var events: AsyncStream<StreamIO.Event>.Continuation?
        var written: [String] = []
        var unconsumedBytes = 0
        var consumedBytes = 0
        var abortReason: ConnectionError?
        var closed = false
    }

    private let state = Mutex(State())
    private let session: StreamNegotiator.Session

    /// - Parameter streamManagement: whether XEP-0198 is enabled (resumable) on the stream, so
    ///   the client counts what it handles and answers `<r/>` with `<a h/>`.
    public init(boundJID: JID, streamManagement: Bool = true) {
        let features = Element("features", namespace: NS.stream, elements: streamManagement ? [Element("sm", namespace: NS.sm)] : [])
        var machine: StreamManagement?
        if streamManagement {
            var fresh = StreamManagement()
            _ = fresh.enableRequest(resume: true)
            try? fresh.handle(enabled: Element("enabled", namespace: NS.sm, attributes: ["id": "embedded", "resume": "true"]))
            machine = fresh
        }
        session = StreamNegotiator.Session(
            boundJID: boundJID, streamID: "embedded", features: features, mechanism: "EMBEDDED", channelBinding: nil,
            isTLS13: true, derivedKeys: nil, keysHash: nil, start: .new(unconfirmed: []), streamManagement: machine)
    }

    func attach(events: AsyncStream<StreamIO.Event>.Continuation) {
        state.withLock { $0.events = events }
    }

    func start(established: @escaping @Sendable (Result<StreamIO.Negotiated, ConnectionError>) -> Void) {
        established(.success(.bound(session)))
    }

    // MARK: - The server's side

    /// Stanzas the server sends, arriving together as one read.
    public func receive(_ elements: [Element]) {
        let bytes = elements.reduce(0) { $0 + ((try? XMLSerializer.serialize($1).utf8.count) ?? 0) }
        let events = state.withLock { state -> AsyncStream<StreamIO.Event>.Continuation? in
            guard !state.closed else { return nil }
            state.unconsumedBytes += bytes
            return state.events
        }
        events?.yield(.stanzas(elements, dropped: [], bytes: bytes))
    }

    /// The server ends the stream (`error` nil: a clean `</stream:stream>`).
    public func serverCloses(_ error: ConnectionError? = nil) {
        finish(error)
    }

    /// Everything the client wrote, one serialised stanza (or nonza) per entry.
    public var written: [String] { state.withLock { $0.written } }

    /// What the client wrote, parsed; anything unparsable is left out.
    public var writtenElements: [Element] { written.compactMap { try? StreamParser.element(fromSerialized: $0) } }

    /// Waits until the client has written an element that `matches`, and returns it. The
    /// default wait is long because it returns at once when the element is there, and a whole
    /// test suite on two cores can take seconds.
    public func waitForWrite(timeout: Duration = .seconds(30), where matches: (Element) -> Bool) async -> Element? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let found = writtenElements.first(where: matches) { return found }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return writtenElements.first(where: matches)
    }

    /// Why the client dropped the link without closing the stream, if it did.
    public var abortReason: ConnectionError? { state.withLock { $0.abortReason } }

    /// Input the client has reported stored (`Connection.handled`).
    public var consumedBytes: Int { state.withLock { $0.consumedBytes } }

    public var isClosed: Bool { state.withLock { $0.closed } }

    // MARK: - The client's side

    func enqueue(_ text: [String]) {
        state.withLock { state in
            guard !state.closed else { return }
            state.written += text
        }
    }

    func requestClose() {
        enqueue([XMLSerializer.streamFooter])
        finish(nil)
    }

    func requestAbort(_ reason: ConnectionError, finalWords: String?) {
        let first = state.withLock { state in
            guard state.abortReason == nil, !state.closed else { return false }
            state.abortReason = reason
            if let finalWords { state.written.append(finalWords) }
            return true
        }
        if first { finish(reason) }
    }

    private func finish(_ error: ConnectionError?) {
        let events = state.withLock { state -> AsyncStream<StreamIO.Event>.Continuation? in
            guard !state.closed else { return nil }
            state.closed = true
            return state.events
        }
        events?.yield(.closed(error))
        events?.finish()
    }

    func consumed(_ bytes: Int) {
        state.withLock { state in
            state.unconsumedBytes = max(0, state.unconsumedBytes - bytes)
            state.consumedBytes += bytes
        }
    }

    var unconsumedBytes: Int { state.withLock { $0.unconsumedBytes } }

    func isReceiving(within duration: Duration) -> Bool { true }

    func isWriteStalled(longerThan duration: Duration) -> Bool { false }
}
