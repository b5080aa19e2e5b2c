import Foundation
import Store
import XMPP

/// RFC 6121 §3–4 on a live session: contacts' presence per resource, incoming subscription
/// stanzas, and our own presence (the stored show and status).
///
/// A new session starts from nothing: presence we stored belongs to a session that is gone,
/// so it is cleared before our initial presence asks the server for everyone's current one,
/// and strangers' rows too old to matter are pruned. Anyone may send us presence and
/// subscription requests: the Store caps what people outside the roster can make us keep,
/// and what they cause reaches the UI through `StrangerDigest`, a burst as one summary.
struct PresenceFeature: SessionFeature {
    let digest = StrangerDigest()

    var discoFeatures: [String] { [] }

    func sessionStarted(_ context: FeatureContext) async {
        let accountID = context.account.rowID
        try? context.store.clearPresence(accountID: accountID)
        _ = try? context.store.pruneStrangerPresence(accountID: accountID, before: Store.now - Store.strangerPresenceMaxAge)
        await sendOwnPresence(context, force: true)
    }

    /// Presence that is not a MUC occupant's (rooms will claim those themselves).
    func claims(_ stanza: Element, _ context: FeatureContext) -> Bool {
        stanza.matches("presence", NS.client) && stanza.child("x", namespace: Self.mucUser) == nil
    }

    func handle(_ stanzas: [Element], _ context: FeatureContext) async throws {
        let accountID = context.account.rowID
        let now = Store.now
        var updates: [ResourcePresence] = []
        var events: [SyncEvent] = []
        var fromStrangers: [SyncEvent] = []
        var refused = 0
        for stanza in stanzas {
            if let incoming = Subscription.incoming(stanza) {
                let jid = incoming.from.description
                switch incoming.kind {
                case .subscribe:
                    guard incoming.from.bare != context.boundJID.bare else { continue }
                    let request = SyncEvent.subscriptionRequest(jid: jid, message: incoming.status)
                    switch try context.unlessRefused({
                        try context.store.addSubscriptionRequest(accountID: accountID, jid: jid, message: incoming.status)
                    }) {
                    case .refused?: refused += 1
                    case nil: break
                    default:
                        // A contact's request (say, one we already follow) is no stranger's.
                        if try context.store.contact(accountID: accountID, jid: jid) != nil {
                            events.append(request)
                        } else {
                            fromStrangers.append(request)
                        }
                    }
                case .subscribed:
                    events.append(.subscribed(jid: jid))
                case .unsubscribed:
                    // Whatever they granted is gone, and so is their presence.
                    updates += try context.store.presence(accountID: accountID, jid: jid).filter(\.available).map {
                        var gone = $0
                        gone.available = false
                        gone.updatedAt = now
                        return gone
                    }
                    events.append(.unsubscribed(jid: jid))
                case .unsubscribe:
                    // They stopped following us; the roster push tells the rest. A pending request is void.
                    _ = try context.store.removeSubscriptionRequest(accountID: accountID, jid: jid)
                }
                continue
            }
            guard let update = PresenceExchange.update(stanza), update.from != context.boundJID else { continue }
            updates.append(Self.row(update, of: stanza, accountID: accountID, now: now))
        }
        if let changes = try context.unlessRefused({ try context.store.storePresence(updates) }) {
            events = changes.contacts.map(SyncEvent.presence) + events
            fromStrangers = changes.strangers.map(SyncEvent.presence) + fromStrangers
            refused += changes.refused
        }
        for event in events { await context.emit(event) }
        if !fromStrangers.isEmpty || refused > 0 { await digest.add(fromStrangers, refused: refused, accountID: accountID) }
    }

    func poll(_ context: FeatureContext) async {
        await sendOwnPresence(context, force: false)
        for event in await digest.due(accountID: context.account.rowID) { await context.emit(event) }
    }

    /// Sends the stored own presence when it changed since last sent (or always, at session start).
    private func sendOwnPresence(_ context: FeatureContext, force: Bool) async {
        let accountID = context.account.rowID
        guard let own = try? context.store.ownPresence(accountID: accountID), force || own.revision != own.sentRevision else {
            return
        }
        var stanza = PresenceExchange.own(
            show: own.show.flatMap(Presence.Show.init(rawValue:)), status: own.status, priority: context.account.priority)
        // XEP-0115: who we are and what we support, so contacts need not ask each time.
        if let caps = SessionFeatures.capsElement { stanza = stanza.appending(caps) }
        do {
            try await context.send([stanza])
            try context.store.markOwnPresenceSent(accountID: accountID, revision: own.revision)
        } catch {
            // Sent on the next session.
        }
    }

    /// The stored form of an availability presence, with the XEP-0115 caps it advertises.
    /// Only a `sha-1` `ver` is kept: no other hash can be verified, so no other is worth asking about.
    static func row(_ update: PresenceExchange.Update, of stanza: Element, accountID: Int64, now: Double) -> ResourcePresence {
        let caps = update.available ? EntityCapabilities.advertised(in: stanza).flatMap { $0.hash == "sha-1" ? $0 : nil } : nil
        return ResourcePresence(
            accountID: accountID, jid: update.from.bare.description, resource: update.from.resource ?? "",
            available: update.available, show: update.show?.rawValue, status: update.status,
            priority: update.priority, updatedAt: now, capsNode: caps?.node, capsVer: caps?.ver)
    }

    static let mucUser = "http://jabber.org/protocol/muc#user"
}
