import Foundation
import Store
import XMPP

/// RFC 6121 §3–4 on a live session: contacts' presence per resource, incoming subscription
/// stanzas, and our own presence (the stored show and status).
///
/// A new session starts from nothing: presence we stored belongs to a session that is gone,
/// so it is cleared before our initial presence asks the server for everyone's current one.
struct PresenceFeature: SessionFeature {
    var discoFeatures: [String] { [] }

    func sessionStarted(_ context: FeatureContext) async {
        try? context.store.clearPresence(accountID: context.account.rowID)
        await sendOwnPresence(context, force: true)
    }

    /// Presence that is not a MUC occupant's (rooms will claim those themselves).
    func claims(_ stanza: Element, _ context: FeatureContext) -> Bool {
        stanza.matches("presence", NS.client) && stanza.child("x", namespace: Self.mucUser) == nil
    }

    func handle(_ stanzas: [Element], _ context: FeatureContext) async {
        let accountID = context.account.rowID
        let now = Store.now
        var updates: [ResourcePresence] = []
        var events: [SyncEvent] = []
        for stanza in stanzas {
            if let incoming = Subscription.incoming(stanza) {
                let jid = incoming.from.description
                switch incoming.kind {
                case .subscribe:
                    guard incoming.from.bare != context.boundJID.bare else { continue }
                    try? context.store.addSubscriptionRequest(accountID: accountID, jid: jid, message: incoming.status)
                    events.append(.subscriptionRequest(jid: jid, message: incoming.status))
                case .subscribed:
                    events.append(.subscribed(jid: jid))
                case .unsubscribed:
                    // Whatever they granted is gone, and so is their presence.
                    updates += (try? context.store.presence(accountID: accountID, jid: jid))?.filter(\.available).map {
                        var gone = $0
                        gone.available = false
                        gone.updatedAt = now
                        return gone
                    } ?? []
                    events.append(.unsubscribed(jid: jid))
                case .unsubscribe:
                    // They stopped following us; the roster push tells the rest. A pending request is void.
                    _ = try? context.store.removeSubscriptionRequest(accountID: accountID, jid: jid)
                }
                continue
            }
            guard let update = PresenceExchange.update(stanza), update.from != context.boundJID else { continue }
            updates.append(Self.row(update, of: stanza, accountID: accountID, now: now))
        }
        if let changed = try? context.store.storePresence(updates) {
            events = changed.map(SyncEvent.presence) + events
        }
        for event in events { await context.emit(event) }
    }

    func poll(_ context: FeatureContext) async {
        await sendOwnPresence(context, force: false)
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
