import Foundation
import Store
import XMPP

/// Keeping a XEP-0198 session across restarts (XEP-0198 §5, DESIGN §6): the state saved in
/// the Store, and how outbox rows are named in its queue.
///
/// Only Monal keeps stream management across a restart among today's clients; tern does,
/// so a crash or `kill -9` resumes the same session while the server still holds it.
enum StreamSession {
    /// The saved session, or a fresh machine when there is none or it cannot be used.
    static func restore(store: Store, accountID: Int64) -> StreamManagement {
        guard let snapshot = saved(store: store, accountID: accountID) else { return StreamManagement() }
        guard let machine = try? StreamManagement(snapshot: snapshot) else {
            abandon(store: store, accountID: accountID)
            return StreamManagement()
        }
        return machine
    }

    /// Gives up the saved session (it ended cleanly, or cannot be resumed: inconsistent, or
    /// refused as such): its unconfirmed outbox rows go back to the queue as the state is forgotten.
    static func abandon(store: Store, accountID: Int64) {
        let unconfirmed = saved(store: store, accountID: accountID)?.unacked.compactMap { outboxID(ofKey: $0.key) } ?? []
        try? store.beginStreamSession(accountID: accountID, acknowledged: [], requeue: unconfirmed, streamManagementState: nil)
    }

    private static func saved(store: Store, accountID: Int64) -> StreamManagement.Snapshot? {
        guard let text = try? store.streamManagementState(accountID: accountID) else { return nil }
        return try? JSONDecoder().decode(StreamManagement.Snapshot.self, from: Data(text.utf8))
    }

    /// What the connection calls with every change of the state.
    static func saver(store: Store, accountID: Int64) -> @Sendable (StreamManagement.Snapshot) throws -> Void {
        { snapshot in try store.saveStreamManagementState(accountID: accountID, encode(snapshot)) }
    }

    /// Records how a stream started: what it settled in the outbox, and its state (nil when
    /// the stream has no stream management, which also forgets any earlier session).
    static func begin(_ session: StreamNegotiator.Session, store: Store, accountID: Int64) throws {
        try store.beginStreamSession(
            accountID: accountID,
            acknowledged: session.start.acknowledged.compactMap(outboxID(ofKey:)),
            requeue: session.start.unconfirmed.compactMap(outboxID(ofKey:)),
            streamManagementState: session.streamManagement.flatMap { encode($0.snapshot) })
    }

    /// The saved form of the state (`sync_state.sm_state`).
    static func encode(_ snapshot: StreamManagement.Snapshot) -> String? {
        (try? JSONEncoder().encode(snapshot)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Outbox rows are queued under "o:" and their id, so an ack can move them to `acked`.
    static func key(outboxID: String) -> String { "o:" + outboxID }

    static func outboxID(ofKey key: String) -> String? {
        key.hasPrefix("o:") ? String(key.dropFirst(2)) : nil
    }

    /// The stored stanza with a XEP-0203 delay stamped with when it was written, for a
    /// resend on a new session: the recipient then shows it at its true time.
    static func delayed(_ stanza: String, since createdAt: Double) -> String {
        let closing = "</message>"
        guard stanza.hasSuffix(closing), !stanza.contains(NS.delay),
            let delay = try? XMLSerializer.serialize(Delay.element(stamp: Date(timeIntervalSince1970: createdAt)))
        else { return stanza }
        return String(stanza.dropLast(closing.count)) + delay + closing
    }
}
