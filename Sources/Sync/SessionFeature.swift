import Foundation
import Store
import XMPP

/// One protocol feature of a live session (roster, presence, contact details, blocking, …).
///
/// The engine owns the connection; a feature sees only what it claims. It starts with every
/// new session and gets the stanzas it claims one burst at a time, so it can commit a burst
/// in one transaction. Keeping each feature in its own type keeps the engine small and each
/// XEP in a file of its own.
protocol SessionFeature: Sendable {
    /// What we advertise in disco#info because of this feature (XEP-0030).
    var discoFeatures: [String] { get }

    /// Once per new session, before initial presence is sent (RFC 6121 §2.2: roster first).
    func sessionStarted(_ context: FeatureContext) async

    /// Once per session, new or resumed (XEP-0198 §5), after the outbox was flushed: work
    /// that may take long (archive catch-up) goes here, so a short-lived link still gets
    /// our queued messages out first.
    func sessionSettled(_ context: FeatureContext, resumed: Bool) async

    /// Whether this feature handles an inbound stanza (checked in `SessionFeatures.make()` order).
    func claims(_ stanza: Element, _ context: FeatureContext) -> Bool

    /// The claimed stanzas of one burst, in arrival order.
    func handle(_ stanzas: [Element], _ context: FeatureContext) async

    /// Every owner poll interval while online: picks up intents other processes stored.
    func poll(_ context: FeatureContext) async

    /// The link went away: whatever waits for an answer on it must stop waiting now, or a
    /// resumable session could expire on the server while we wait.
    func linkLost(accountID: Int64) async
}

extension SessionFeature {
    func sessionStarted(_ context: FeatureContext) async {}
    func poll(_ context: FeatureContext) async {}
    func sessionSettled(_ context: FeatureContext, resumed: Bool) async {}
    func linkLost(accountID: Int64) async {}
}

/// The features every session runs, in the order they start and claim stanzas.
///
/// Bookmarks come before rooms (a bookmark's autojoin decides what is joined), and rooms
/// before presence: a room's join error is a presence without MUC data, which only the room
/// feature can tell from a contact's. Joins still follow our initial presence: they are sent
/// when the session settles, after every feature has started. Intents come after rooms (a
/// room action needs its room joined) and before the archive's long catch-up.
///
/// Each engine gets instances of its own: the state some features keep (open archive pages,
/// room joins, stranger digests) is keyed by account row ids, which are unique only within
/// one Store, and a process may run engines on several stores (the tests do).
enum SessionFeatures {
    static func make() -> [any SessionFeature] {
        // Room archives are read through the same router as our own: it owns every MAM result.
        let archiveRouter = ArchiveRouter()
        return [
            RosterFeature(), CarbonsFeature(), BookmarksFeature(), RoomFeature(archiveRouter: archiveRouter),
            PresenceFeature(), DetailsFeature(), BlockingFeature(), IntentsFeature(), ArchiveFeature(router: archiveRouter),
        ]
    }
}

/// What a feature may do on the live session.
struct FeatureContext: Sendable {
    let store: Store
    let account: Account
    let boundJID: JID
    let engine: SyncEngine
    /// One per session: hold it across "fetch, then store" and while applying pushes.
    let gate: SerialGate
    /// The post-authentication stream features (e.g. roster versioning, RFC 6121 §2.6.1).
    var streamFeatures: Element? = nil

    /// Queues stanzas on the session, in order.
    func send(_ elements: [Element]) async throws {
        try await engine.send(elements)
    }

    /// An IQ request and its reply; a stanza error throws `StanzaError`.
    func request(_ iq: Element, timeout: Duration = .seconds(30)) async throws -> Element {
        try await engine.request(iq, timeout: timeout)
    }

    /// disco#info of `jid` (XEP-0030 §3.1): its `<query/>`, or nil for a reply without one.
    /// A stanza error throws `StanzaError`; no answer throws too.
    func discoInfo(of jid: JID, timeout: Duration = .seconds(15)) async throws -> Element? {
        let request = IQ.request(.get, id: nextID(), to: jid, payload: Element("query", namespace: NS.discoInfo))
        return try await self.request(request, timeout: timeout).child("query", namespace: NS.discoInfo)
    }

    /// Tells the UI (shell, `sync --watch`) what happened.
    func emit(_ event: SyncEvent) async {
        await engine.emit(event)
    }

    func nextID() -> String { UUID().uuidString.lowercased() }
}
