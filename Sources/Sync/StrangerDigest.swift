import Foundation

/// A burst from people not in the roster, counted (DESIGN §6, Floods).
public struct StrangerSummary: Sendable, Equatable {
    /// Subscription requests stored or refreshed.
    public var requests: Int
    /// Presence updates of strangers' resources.
    public var presence: Int
    /// Requests or resources not stored because a cap was reached (RosterQueries).
    public var refused: Int
    /// The first few senders, in the order they came.
    public var jids: [String]

    public init(requests: Int, presence: Int, refused: Int, jids: [String]) {
        self.requests = requests
        self.presence = presence
        self.refused = refused
        self.jids = jids
    }
}

/// Holds back what strangers cause for a moment, so that a burst of subscription requests or
/// presence from people outside the roster reaches the user as one summary instead of a line
/// each, while a lone request still comes out as itself.
///
/// A burst ends after `quiet` without another, or once held for `maxHold`. After a summary the
/// account is in a flood for `floodMemory`: whatever strangers cause then is summarised too,
/// however little, and summaries come at most once per `summaryGap`, so a flood that goes on
/// for minutes is a line every few seconds, not a screenful. Memory stays flat whatever the
/// flood: only the first few events are kept, the rest counted. Per account and in memory: a
/// summary not given before the process ends is lost, but what it counted is in the store.
actor StrangerDigest {
    static let quiet: Duration = .seconds(1)
    static let maxHold: Duration = .seconds(5)
    static let summaryGap: Duration = .seconds(10)
    static let floodMemory: Duration = .seconds(30)
    /// More than this many in a burst (or any refused) makes a summary.
    static let maxSingly = 3

    private struct Burst {
        var events: [SyncEvent] = []
        var summary = StrangerSummary(requests: 0, presence: 0, refused: 0, jids: [])
        let started: ContinuousClock.Instant
        var last: ContinuousClock.Instant
    }

    private var bursts: [Int64: Burst] = [:]
    private var lastSummary: [Int64: ContinuousClock.Instant] = [:]

    func add(_ events: [SyncEvent], refused: Int, accountID: Int64, at now: ContinuousClock.Instant = .now) {
        var burst = bursts[accountID] ?? Burst(started: now, last: now)
        burst.last = now
        burst.summary.refused += refused
        for event in events {
            if burst.events.count <= Self.maxSingly { burst.events.append(event) }
            let jid: String
            switch event {
            case .subscriptionRequest(let from, _):
                burst.summary.requests += 1
                jid = from
            case .presence(let row):
                burst.summary.presence += 1
                jid = row.jid
            default:
                continue
            }
            if burst.summary.jids.count < Self.maxSingly, !burst.summary.jids.contains(jid) { burst.summary.jids.append(jid) }
        }
        bursts[accountID] = burst
    }

    /// What to tell the UI now: nothing while a burst may go on, else its events or its summary.
    func due(accountID: Int64, at now: ContinuousClock.Instant = .now) -> [SyncEvent] {
        guard let burst = bursts[accountID],
            burst.last.duration(to: now) >= Self.quiet || burst.started.duration(to: now) >= Self.maxHold
        else { return [] }
        let sinceSummary = lastSummary[accountID].map { $0.duration(to: now) }
        if let sinceSummary, sinceSummary < Self.summaryGap { return [] }
        bursts[accountID] = nil
        let inFlood = sinceSummary.map { $0 < Self.floodMemory } ?? false
        if !inFlood, burst.summary.refused == 0, burst.events.count <= Self.maxSingly { return burst.events }
        lastSummary[accountID] = now
        return [.strangers(burst.summary)]
    }
}
