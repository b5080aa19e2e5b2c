/// XEP-0198 Stream Management (`urn:xmpp:sm:3`) §3–§6: enabling, acks, resumption and error handling.
///
/// A pure value-type state machine for the client side: it never touches a socket. The
/// connection feeds it the SM nonzas it reads and tells it which stanzas it wrote; it
/// returns the nonzas to send and which outbox keys the server has confirmed.
///
/// Counters are `UInt32` and wrap at 2³² (XEP-0198 §4), so every comparison is done on
/// differences with `&-`: "how far past our last ack is this `h`", never "is `h` bigger".
///
/// Everything that must survive a restart lives in `Snapshot`; the caller persists it
/// whenever it changes (`snapshot` is cheap) and rebuilds with `init(snapshot:)`.
public struct StreamManagement: Sendable, Equatable {
    /// The persistent part of a stream-management session.
    public struct Snapshot: Sendable, Codable, Equatable {
        /// The SM-ID from `<enabled id>`; nil when no session was enabled.
        public var id: String?
        /// Whether the server agreed to resumption (`<enabled resume>`).
        public var resumable: Bool
        /// Where the server prefers us to reconnect for resumption (`<enabled location>`).
        public var location: String?
        /// The server's maximum resumption time in seconds (`<enabled max>`).
        public var max: Int?
        /// Inbound `h`: countable stanzas received from the server and committed to the Store.
        public var inbound: UInt32
        /// Countable stanzas we sent since `<enable/>`: the sequence number of the last one.
        public var outbound: UInt32
        /// The last `h` the server acknowledged.
        public var lastAcked: UInt32
        /// Sent, not yet acknowledged: sequence numbers `lastAcked &+ 1 … outbound`, in order.
        public var unacked: [Unacked]
        /// The full JID bound when the session was enabled: a resumed stream binds nothing.
        public var boundJID: String?

        public init(
            id: String? = nil, resumable: Bool = false, location: String? = nil, max: Int? = nil,
            inbound: UInt32 = 0, outbound: UInt32 = 0, lastAcked: UInt32 = 0, unacked: [Unacked] = [],
            boundJID: String? = nil
        ) {
            self.id = id
            self.resumable = resumable
            self.location = location
            self.max = max
            self.inbound = inbound
            self.outbound = outbound
            self.lastAcked = lastAcked
            self.unacked = unacked
            self.boundJID = boundJID
        }

        /// Whether `<resume/>` can be attempted with this state.
        public var canResume: Bool { resumable && id != nil }
    }

    /// One sent stanza awaiting the server's ack: its sequence number and the caller's key
    /// (an outbox id, a stanza id, or any opaque key the caller can map back to the stanza).
    public struct Unacked: Sendable, Codable, Equatable {
        public var sequence: UInt32
        public var key: String

        public init(sequence: UInt32, key: String) {
            self.sequence = sequence
            self.key = key
        }
    }

    /// When to send `<r/>`: after `stanzas` unrequested stanzas, or once the oldest of them
    /// has waited `interval` (DESIGN §7: acks are requested in batches, never per stanza).
    public struct AckPolicy: Sendable, Equatable {
        public var stanzas: Int
        public var interval: Duration

        public init(stanzas: Int = 25, interval: Duration = .milliseconds(250)) {
            self.stanzas = Swift.max(1, stanzas)
            self.interval = interval
        }
    }

    public enum Phase: Sendable, Equatable {
        /// No SM on this stream (not yet negotiated, refused, or the link dropped).
        case inactive
        /// `<enable/>` sent: our outbound count runs, the inbound one waits for `<enabled/>`.
        case enabling
        /// `<resume/>` sent: nothing is counted until `<resumed/>`.
        case resuming
        /// Both counters run.
        case active
    }

    /// What a `<failed/>` meant, and the stanzas it leaves unconfirmed.
    public struct Failure: Sendable, Equatable {
        /// The stanza error condition inside `<failed/>` (e.g. "item-not-found"), if any.
        public var condition: String?
        /// Keys its `h` confirmed, in send order.
        public var acknowledged: [String]
        /// Keys the server never confirmed, in send order: resend them on the new session
        /// (with their same origin-id and a XEP-0203 delay), through `stanzaSent` again.
        public var unconfirmed: [String]
    }

    public private(set) var snapshot: Snapshot
    public private(set) var phase: Phase = .inactive
    public let policy: AckPolicy

    // Batching state; deliberately not persisted: a restart starts a fresh link.
    private var unrequested = 0
    private var oldestUnrequestedAt: ContinuousClock.Instant?
    /// When the `<r/>` still waiting for its `<a/>` was sent: the caller's dead-link timer.
    public private(set) var ackRequestedAt: ContinuousClock.Instant?
    /// Whether `<enable resume>` was asked for, to ignore a `resume` we did not request.
    private var resumeRequested = false

    public init(policy: AckPolicy = AckPolicy()) {
        self.policy = policy
        self.snapshot = Snapshot()
    }

    /// Restores a persisted session (phase `.inactive`: resume or enable next).
    /// Throws `.inconsistentSnapshot` when the queue does not match the counters.
    public init(snapshot: Snapshot, policy: AckPolicy = AckPolicy()) throws(SMError) {
        let expected = snapshot.outbound &- snapshot.lastAcked
        guard UInt64(snapshot.unacked.count) == UInt64(expected) else {
            throw .inconsistentSnapshot("\(snapshot.unacked.count) queued, \(expected) unacknowledged")
        }
        for (offset, entry) in snapshot.unacked.enumerated()
        where entry.sequence != snapshot.lastAcked &+ UInt32(truncatingIfNeeded: offset + 1) {
            throw .inconsistentSnapshot("sequence \(entry.sequence) out of order at position \(offset)")
        }
        self.policy = policy
        self.snapshot = snapshot
    }

    /// §5: the location failed (unreachable, untrusted, not XMPP): resume at the usual endpoints.
    public mutating func forgetLocation() {
        snapshot.location = nil
    }

    public var isActive: Bool { phase == .active }
    public var unackedKeys: [String] { snapshot.unacked.map(\.key) }

    // MARK: - Enabling (§3)

    /// `<enable/>`, sent after resource binding. Starts a new SM session: the counters and
    /// queue are reset (the caller resends what a `<failed/>` returned after this).
    public mutating func enableRequest(resume: Bool, max: Int? = nil) -> Element {
        snapshot = Snapshot()
        resetBatching()
        resumeRequested = resume
        // §4: our outbound counter starts when <enable/> is sent.
        phase = .enabling
        var attributes: [String: String] = [:]
        if resume { attributes["resume"] = "true" }
        if let max { attributes["max"] = String(max) }
        return Element("enable", namespace: NS.sm, attributes: attributes)
    }

    /// `<enabled/>`: records the SM-ID, `resume`, `location` and `max`; the inbound count starts.
    public mutating func handle(enabled element: Element, boundJID: String? = nil) throws(SMError) {
        guard phase == .enabling else { throw .unexpected("<enabled/> without a pending <enable/>") }
        let id = element["id"].flatMap { $0.isEmpty ? nil : $0 }
        snapshot.id = id
        // §3: resumption needs both the server's consent and an id to resume by.
        snapshot.resumable = resumeRequested && Self.isTrue(element["resume"]) && id != nil
        snapshot.location = element["location"].flatMap { $0.isEmpty ? nil : $0 }
        snapshot.max = element["max"].flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil }
        snapshot.inbound = 0
        snapshot.boundJID = boundJID
        phase = .active
    }

    /// `<failed/>`, in reply to `<enable/>` or `<resume/>` (§3, §5, §6).
    ///
    /// The old session is over either way: trims the queue by `h` when present, then forgets
    /// the session and returns the keys left unconfirmed. Throws for a bad or too-high `h`.
    public mutating func handle(failed element: Element) throws(SMError) -> Failure {
        var acknowledged: [String] = []
        if let raw = element["h"] {
            acknowledged = try trim(to: parseH(raw))
        }
        let condition = element.elements.first { $0.namespace == NS.stanzas && $0.name != "text" }?.name
        let failure = Failure(condition: condition, acknowledged: acknowledged, unconfirmed: unackedKeys)
        snapshot = Snapshot()
        resetBatching()
        phase = .inactive
        return failure
    }

    // MARK: - Acks (§4)

    /// Records one stanza written to the stream, when XEP-0198 counts it (message, presence
    /// or iq) and counting runs. Returns its sequence number, or nil when not counted.
    @discardableResult
    public mutating func stanzaSent(_ element: Element, key: String, now: ContinuousClock.Instant) -> UInt32? {
        guard Stanza.isCountable(element) else { return nil }
        return countedStanzaSent(key: key, now: now)
    }

    /// As `stanzaSent(_:key:now:)` for a stanza the caller knows is countable.
    @discardableResult
    public mutating func countedStanzaSent(key: String, now: ContinuousClock.Instant) -> UInt32? {
        guard phase == .enabling || phase == .active else { return nil }
        snapshot.outbound = snapshot.outbound &+ 1
        snapshot.unacked.append(Unacked(sequence: snapshot.outbound, key: key))
        if unrequested == 0 { oldestUnrequestedAt = now }
        unrequested += 1
        return snapshot.outbound
    }

    /// Counts one inbound stanza as handled (inbound `h` &+ 1, wrapping at 2³²).
    ///
    /// Call it only once the stanza is committed to the Store: acking before the commit
    /// would let the server drop a stanza that a crash then loses. Returns whether counted.
    @discardableResult
    public mutating func stanzaReceived(_ element: Element) -> Bool {
        guard Stanza.isCountable(element) else { return false }
        return stanzaReceived()
    }

    /// As `stanzaReceived(_:)` for a stanza the caller knows is countable (same commit rule).
    @discardableResult
    public mutating func stanzaReceived() -> Bool {
        guard phase == .active else { return false }
        snapshot.inbound = snapshot.inbound &+ 1
        return true
    }

    /// The `<a h/>` answering a server's `<r/>`.
    public func handle(ackRequest _: Element) -> Element {
        ackElement
    }

    /// `<a h='inbound'/>`, also worth sending unasked before a clean close.
    public var ackElement: Element {
        Element("a", namespace: NS.sm, attributes: ["h": String(snapshot.inbound)])
    }

    /// The server's `<a h/>`: trims the queue and returns the keys it confirms, oldest first.
    /// An `h` beyond what we sent is `handled-count-too-high` (§6); the state is then unchanged.
    public mutating func handle(ack element: Element) throws(SMError) -> [String] {
        guard phase == .active else { throw .unexpected("<a/> while stream management is not active") }
        let acked = try trim(to: parseH(element["h"]))
        ackRequestedAt = nil
        return acked
    }

    /// Whether to send `<r/>` now under the batching policy.
    public func shouldRequestAck(now: ContinuousClock.Instant) -> Bool {
        guard phase == .active, unrequested > 0 else { return false }
        if unrequested >= policy.stanzas { return true }
        guard let oldest = oldestUnrequestedAt else { return false }
        return oldest.duration(to: now) >= policy.interval
    }

    /// When `shouldRequestAck` will turn true by time alone, for the caller's timer.
    public var ackRequestDeadline: ContinuousClock.Instant? {
        guard phase == .active, unrequested > 0 else { return nil }
        return oldestUnrequestedAt.map { $0.advanced(by: policy.interval) }
    }

    /// `<r/>`; restarts the batch.
    public mutating func ackRequest(now: ContinuousClock.Instant) -> Element {
        unrequested = 0
        oldestUnrequestedAt = nil
        if ackRequestedAt == nil { ackRequestedAt = now }
        return Element("r", namespace: NS.sm)
    }

    // MARK: - Resumption (§5)

    /// `<resume previd h/>`, sent instead of binding; nil when there is nothing to resume.
    public mutating func resumeRequest() -> Element? {
        guard snapshot.canResume, let id = snapshot.id else { return nil }
        resetBatching()
        phase = .resuming
        return Element("resume", namespace: NS.sm, attributes: ["previd": id, "h": String(snapshot.inbound)])
    }

    /// What `<resumed/>` settled: keys its `h` confirmed, and keys the server never got.
    public struct Resumption: Sendable, Equatable {
        public var acknowledged: [String]
        public var unconfirmed: [String]
    }

    /// `<resumed previd h/>`: trims the queue by `h`; the keys the server never got are
    /// returned in order, for the caller to send again through `stanzaSent`.
    ///
    /// The queue restarts at the acknowledged count because the caller may not be able to
    /// resend everything (an iq whose waiter died with the old link): numbering only what is
    /// actually rewritten keeps our count equal to the server's.
    public mutating func handle(resumed element: Element) throws(SMError) -> Resumption {
        guard phase == .resuming else { throw .unexpected("<resumed/> without a pending <resume/>") }
        guard element["previd"] == snapshot.id else {
            throw .previdMismatch(expected: snapshot.id, received: element["previd"])
        }
        let acknowledged = try trim(to: parseH(element["h"]))
        let unconfirmed = unackedKeys
        snapshot.unacked = []
        snapshot.outbound = snapshot.lastAcked
        phase = .active
        return Resumption(acknowledged: acknowledged, unconfirmed: unconfirmed)
    }

    /// The link dropped: counting stops, the session is kept for `resumeRequest()`.
    public mutating func connectionLost() {
        phase = .inactive
        resetBatching()
    }

    // MARK: - Internals

    /// Drops entries up to `h`; `h` must lie within `lastAcked … outbound` modulo 2³².
    @discardableResult
    private mutating func trim(to h: UInt32) throws(SMError) -> [String] {
        let newlyAcked = h &- snapshot.lastAcked
        let inFlight = snapshot.outbound &- snapshot.lastAcked
        guard newlyAcked <= inFlight else {
            throw .handledCountTooHigh(h: h, sendCount: snapshot.outbound)
        }
        let count = Int(newlyAcked)
        let acked = snapshot.unacked.prefix(count).map(\.key)
        snapshot.unacked.removeFirst(count)
        snapshot.lastAcked = h
        return acked
    }

    private func parseH(_ raw: String?) throws(SMError) -> UInt32 {
        // UInt32(_:) already rejects signs other than '+', blanks and values ≥ 2³².
        guard let raw, !raw.hasPrefix("+"), let h = UInt32(raw) else { throw .badH(raw) }
        return h
    }

    private mutating func resetBatching() {
        unrequested = 0
        oldestUnrequestedAt = nil
        ackRequestedAt = nil
    }

    private static func isTrue(_ value: String?) -> Bool {
        value == "true" || value == "1"
    }

    /// §5: where to try resuming first, from `<enabled location>`. The value takes the
    /// RFC 6120 §4.9.3.19 `see-other-host` form: a host name or IPv4 address, or an IPv6
    /// address in brackets, with an optional `:port` (5222 when absent). Nil when unusable.
    /// TLS is still verified against the account's domain, so a forged location can only
    /// make the resumption fail, never redirect it to another identity.
    public static func resumptionEndpoint(location: String, directTLS: Bool) -> Endpoint? {
        let text = location
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return nil }
                portText = rest.dropFirst()
            }
            guard host.contains(":") else { return nil }
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { return nil }  // a bare IPv6 address must be bracketed
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || ".-_:".contains($0) }) else { return nil }
        var port = Resolver.defaultPort
        if let portText {
            guard let value = UInt16(portText), value > 0 else { return nil }
            port = value
        }
        return Endpoint(host: String(host), port: port, directTLS: directTLS)
    }
}

/// Stream-management failures, each fatal to the stream: send `streamError`, then close.
public enum SMError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The peer acknowledged more stanzas than we sent (§6).
    case handledCountTooHigh(h: UInt32, sendCount: UInt32)
    /// An `h` that is missing or not a number in 0 … 2³²−1.
    case badH(String?)
    /// `<resumed previd>` names another session than the one we asked to resume.
    case previdMismatch(expected: String?, received: String?)
    /// An SM nonza that makes no sense in the current phase.
    case unexpected(String)
    /// A persisted snapshot whose queue does not match its counters.
    case inconsistentSnapshot(String)

    /// The `<stream:error>` to send before closing (RFC 6120 §4.9; §6 for the SM condition).
    public var streamError: Element {
        switch self {
        case .handledCountTooHigh(let h, let sendCount):
            return Element("error", namespace: NS.stream, elements: [
                Element("undefined-condition", namespace: NS.streams),
                Element("handled-count-too-high", namespace: NS.sm,
                        attributes: ["h": String(h), "send-count": String(sendCount)]),
            ])
        case .badH, .previdMismatch, .unexpected, .inconsistentSnapshot:
            return StreamError(condition: "undefined-condition", text: description).element
        }
    }

    public var description: String {
        switch self {
        case .handledCountTooHigh(let h, let sendCount):
            "the server acknowledged \(h) stanzas but we sent \(sendCount) (handled-count-too-high)"
        case .badH(let raw): "stream management: invalid h \(raw.map { "'\($0)'" } ?? "(missing)")"
        case .previdMismatch(let expected, let received):
            "stream management: resumed session \(received ?? "(none)") instead of \(expected ?? "(none)")"
        case .unexpected(let what): "stream management: unexpected \(what)"
        case .inconsistentSnapshot(let what): "stream management: saved state is inconsistent: \(what)"
        }
    }
}
