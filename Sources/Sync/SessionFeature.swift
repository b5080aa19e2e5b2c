import Foundation
import Store
import XMPP

/// One protocol feature of a live session (roster, presence, chat, receipts, IQ answers, …).
///
/// The engine owns the connection; a feature sees what it claims, and what it observes. It
/// starts with every new session and gets the stanzas of one burst at a time, so it can
/// commit a burst in one transaction. Each stanza is claimed by one feature at most (the
/// first in `SessionFeatures.make()` order that wants it); any number may observe it, after
/// every claimed stanza of the burst is handled, so an observer (receipts) answers only what
/// is stored.
///
/// `handle` and `observe` throw when a Store commit fails: the engine then neither answers
/// nor acknowledges the burst and drops the link, so the server hands it out again (XEP-0198
/// §4, §5; DESIGN §6 "ack only after commit"). What a peer put in a row the Store refuses is
/// that row's loss, not the link's: features drop and report it (`MessageRows.commit`,
/// `FeatureContext.unlessRefused`).
///
/// Adding a XEP: its protocol file in XMPP/Extensions, one feature here, an intent kind if it
/// sends, a command row.
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

    /// The claimed stanzas of one burst, in arrival order. Throws when what they carry could
    /// not be committed.
    func handle(_ stanzas: [Element], _ context: FeatureContext) async throws

    /// Whether this feature wants to see a stanza, whoever claims it.
    func observes(_ stanza: Element, _ context: FeatureContext) -> Bool

    /// The observed stanzas of one burst, in arrival order, once every claimed one is handled.
    func observe(_ stanzas: [Element], _ context: FeatureContext) async throws

    /// Every owner poll interval while online: picks up intents other processes stored.
    func poll(_ context: FeatureContext) async

    /// The link went away: whatever waits for an answer on it must stop waiting now, or a
    /// resumable session could expire on the server while we wait.
    func linkLost(accountID: Int64) async
}

extension SessionFeature {
    func claims(_ stanza: Element, _ context: FeatureContext) -> Bool { false }
    func handle(_ stanzas: [Element], _ context: FeatureContext) async throws {}
    func observes(_ stanza: Element, _ context: FeatureContext) -> Bool { false }
    func observe(_ stanzas: [Element], _ context: FeatureContext) async throws {}
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
/// room action needs its room joined) and before the archive's long catch-up. Chat takes the
/// messages no feature before it claimed (MAM results, carbons, room traffic are claimed
/// earlier), and IQ answers come last: they refuse every request no other feature claimed.
///
/// Each engine gets instances of its own: the state some features keep (open archive pages,
/// room joins, stranger digests) is keyed by account row ids, which are unique only within
/// one Store, and a process may run engines on several stores (the tests do).
enum SessionFeatures {
    static func make() -> [any SessionFeature] {
        // Room archives are read through the same router as our own: it owns every MAM result.
        let archiveRouter = ArchiveRouter()
        let features: [any SessionFeature] = [
            RosterFeature(), CarbonsFeature(), BookmarksFeature(), RoomFeature(archiveRouter: archiveRouter),
            PresenceFeature(), DetailsFeature(), BlockingFeature(), IntentsFeature(), ArchiveFeature(router: archiveRouter),
            ChatFeature(), ReceiptsFeature(), ChatStatesFeature(),
        ]
        return features + [IQAnswersFeature(advertised: features.flatMap(\.discoFeatures) + IQAnswersFeature.features)]
    }
}

extension SessionFeatures {
    /// One burst: each stanza to the first feature that claims it, then to every feature that
    /// observes it, each feature committing its share in one transaction. Throws the first
    /// failed commit. Returns the ids of iq results and errors no one claimed (the replies to
    /// the flusher's barrier pings, RFC 6120 §8.2.3).
    static func dispatch(_ elements: [Element], to features: [any SessionFeature], _ context: FeatureContext) async throws -> [String] {
        var claimed: [[Element]] = Array(repeating: [], count: features.count)
        var observed: [[Element]] = Array(repeating: [], count: features.count)
        var answers: [String] = []
        for element in elements {
            if let index = features.firstIndex(where: { $0.claims(element, context) }) {
                claimed[index].append(element)
            } else if element.matches("iq", NS.client), let id = element["id"] {
                answers.append(id)
            }
            for (index, feature) in features.enumerated() where feature.observes(element, context) {
                observed[index].append(element)
            }
        }
        for (feature, batch) in zip(features, claimed) where !batch.isEmpty { try await feature.handle(batch, context) }
        for (feature, batch) in zip(features, observed) where !batch.isEmpty { try await feature.observe(batch, context) }
        return answers
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

    /// New history rows that arrived on the link (a `sync` pass reports how many).
    func countReceived(_ count: Int) async {
        await engine.countReceived(count)
    }

    func nextID() -> String { UUID().uuidString.lowercased() }

    /// A write of what a peer sent. A row the Store refuses (a constraint, a value too big) is
    /// that stanza's loss, told as nil; any other error is the Store's own and throws, so the
    /// burst is not acknowledged (DESIGN §6).
    func unlessRefused<T>(_ write: () throws -> T) throws -> T? {
        do {
            return try write()
        } catch let error where Store.isRowError(error) {
            return nil
        }
    }
}
