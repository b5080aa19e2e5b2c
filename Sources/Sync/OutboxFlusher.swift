import Foundation
import Store
import XMPP

/// The outbox's side of a live link: queued rows written in one pipelined burst and marked
/// sent in the same transaction that saves the XEP-0198 count, the server's acks moving them
/// to acked (XEP-0198 §4), and the barrier that tells when the server has answered, and the
/// engine stored, everything sent before it (a XEP-0199 ping answered in order, RFC 6120 §10.1).
actor OutboxFlusher {
    private let store: Store
    private let accountID: Int64
    private let events: EventChannel<SyncEvent>
    /// The live link, set by the engine once the session is up; nil while offline.
    private var connection: Connection?
    private var isFlushing = false
    private var flushAgain = false
    /// Barrier pings by id: written, or awaited. An answer may beat its waiter here, as the
    /// ping is written before the waiter is registered.
    private var barriers: [String: CheckedContinuation<Void, Never>?] = [:]
    /// Rows written by every flush: a pass counts what it sent, room messages flushed once
    /// their join is confirmed included.
    private(set) var flushedCount = 0

    /// How long `awaitAcks` waits without a single new ack.
    static let ackPatience: Duration = .seconds(10)

    init(store: Store, accountID: Int64, events: EventChannel<SyncEvent>) {
        self.store = store
        self.accountID = accountID
        self.events = events
    }

    /// The session is up on `connection`.
    func attach(_ connection: Connection) {
        self.connection = connection
    }

    /// The link `source` is gone: nothing more can be written, and no barrier will be answered.
    func detach(from source: Connection) {
        guard source === connection else { return }
        connection = nil
        for case let barrier? in barriers.values { barrier.resume() }
        barriers.removeAll()
    }

    /// Sends every queued row in creation order, pipelined in one write, then marks them sent.
    func flush() async -> Int {
        guard let connection else { return 0 }
        if isFlushing {
            flushAgain = true
            return 0
        }
        isFlushing = true
        defer { isFlushing = false }
        var total = 0
        repeat {
            flushAgain = false
            // A read that fails only postpones the flush to the next poll.
            guard let items = try? store.queuedOutbox(accountID: accountID), !items.isEmpty else { break }
            let store = store
            let accountID = accountID
            let ids = items.map(\.id)
            // A row written before (its stream ended unconfirmed) says when it was written (XEP-0203).
            let texts = items.map { $0.attempts > 0 ? StreamSession.delayed($0.stanza, since: $0.createdAt) : $0.stanza }
            do {
                try await connection.sendSerialized(texts, keys: ids.map(StreamSession.key(outboxID:))) { snapshot in
                    try store.markOutboxSent(
                        accountID: accountID, ids: ids, streamManagementState: snapshot.flatMap(StreamSession.encode))
                }
            } catch ConnectionError.commit(let error) where error is OutboxChangedError {
                flushAgain = true  // a cancel won the race: nothing was written, read the queue again
                continue
            } catch {
                break
            }
            total += items.count
            flushedCount += items.count
            for item in items { events.yield(.outbox(id: item.id, state: .sent)) }
        } while flushAgain
        return total
    }

    /// Outbox rows the server confirmed through XEP-0198 move from sent to acked. A failed
    /// write leaves them sent: the next session's start settles them again.
    func acknowledge(_ keys: [String]) {
        let ids = keys.compactMap(StreamSession.outboxID(ofKey:))
        guard !ids.isEmpty, (try? store.markOutbox(ids: ids, as: .acked, from: [.sent])) != nil else { return }
        for id in ids { events.yield(.outbox(id: id, state: .acked)) }
    }

    /// A slow server may still be working through what we sent when the barrier gives up:
    /// wait on while its acks keep coming, so a pass ends with its messages confirmed.
    func awaitAcks() async {
        guard let link = connection, await link.countsAcks else { return }
        var unconfirmed = unconfirmedCount()
        var lastProgress = ContinuousClock.now
        while unconfirmed > 0, connection != nil, lastProgress.duration(to: .now) < Self.ackPatience {
            await connection?.requestAck()
            try? await Task.sleep(for: .milliseconds(500))
            let now = unconfirmedCount()
            if now < unconfirmed { lastProgress = .now }
            unconfirmed = now
        }
    }

    func hasUnconfirmed() async -> Bool {
        guard let link = connection, await link.countsAcks else { return false }
        return unconfirmedCount() > 0
    }

    /// Rows written to the server and not yet confirmed by it.
    func unconfirmedCount() -> Int {
        (try? store.outboxCount(accountID: accountID, in: [.sent])) ?? 0
    }

    /// Returns once the server has answered a ping sent now, and everything before it is stored.
    func barrier(timeout: Duration = .seconds(20)) async {
        guard let connection else { return }
        let id = await connection.nextID()
        barriers[id] = .some(nil)
        do { try await connection.send(Ping.request(id: id)) } catch {
            barriers[id] = nil
            return
        }
        guard barriers[id] != nil else { return }  // answered already
        await withCheckedContinuation { continuation in
            barriers[id] = continuation
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                await self?.release(id)
            }
        }
    }

    /// IQ results and errors of a burst the engine has stored: those answering a barrier release it.
    func reached(_ ids: [String]) {
        for id in ids { release(id) }
    }

    private func release(_ id: String) {
        if case let waiter?? = barriers.removeValue(forKey: id) { waiter.resume() }
    }
}
