import Foundation
import Store
import XMPP

/// RFC 6121 §2 roster sync with versioning (§2.6): fetch on each new session, validated
/// pushes, and the user's offline edits executed in order.
///
/// The server's roster wins; the user's own pending edits are applied once on top of it,
/// after the fetch, so an edit made offline survives a conflicting change made elsewhere.
struct RosterFeature: SessionFeature {
    var discoFeatures: [String] { [] }

    /// The user's edits go right after the fetch (before initial presence), so what the
    /// session shows already has them; the rest of the intents wait for the session to settle.
    func sessionStarted(_ context: FeatureContext) async {
        await context.gate.run { await fetch(context) }
        await Intents.carryOutInTurn(context, kinds: Intents.rosterKinds)
    }

    func claims(_ stanza: Element, _ context: FeatureContext) -> Bool {
        Roster.isPush(stanza)
    }

    /// Valid pushes of a burst are stored in one transaction and answered after the commit,
    /// after any fetch in flight has stored its (older) roster: see SerialGate.
    func handle(_ stanzas: [Element], _ context: FeatureContext) async throws {
        try await context.gate.run { try await applyPushes(stanzas, context) }
    }

    private func applyPushes(_ stanzas: [Element], _ context: FeatureContext) async throws {
        var items: [Store.ServerRosterItem] = []
        var version: String?
        var accepted: [(request: Element, reply: Element)] = []
        var refused: [Element] = []
        for stanza in stanzas {
            switch Roster.verdict(on: stanza, ourJID: context.boundJID) {
            case .apply(let push, let reply):
                items.append(Self.stored(push.item))
                if let ver = push.version { version = ver }
                accepted.append((stanza, reply))
            case .refuse(let reply):
                refused.append(reply)
            case nil:
                break
            }
        }
        var replies = accepted.map(\.reply)
        if try context.unlessRefused({ try context.store.applyRosterPushes(accountID: context.account.rowID, items, version: version) }) == nil {
            // Items the Store refuses: say so, and the server keeps its state for the next fetch.
            // A Store that cannot write at all throws instead: the pushes come again, unacknowledged.
            replies = accepted.compactMap { IQ($0.request)?.errorReply("internal-server-error", type: "wait") }
        }
        try? await context.send(refused + replies)
    }

    /// Asks with our version when the server supports versioning; an empty result keeps ours.
    func fetch(_ context: FeatureContext) async {
        let accountID = context.account.rowID
        let versioned = context.streamFeatures?.child("ver", namespace: Roster.versioningFeature) != nil
        // An empty string asks for the full roster while saying we understand versions (§2.6.2).
        let version = versioned ? ((try? context.store.rosterVersion(accountID: accountID)) ?? nil) ?? "" : nil
        do {
            let reply = try await context.request(Roster.get(id: context.nextID(), version: version))
            switch Roster.fetchResult(reply) {
            case .unchanged:
                try context.store.noteRosterUnchanged(accountID: accountID)
            case .full(let items, let ver):
                try context.store.replaceRoster(accountID: accountID, items: items.map(Self.stored), version: ver)
            }
        } catch {
            // The stored roster stays as it was; the next session tries again.
        }
    }

    static func stored(_ item: Roster.Item) -> Store.ServerRosterItem {
        Store.ServerRosterItem(
            jid: item.jid.description, name: item.name, subscription: Contact.Subscription(rawValue: item.subscription.rawValue),
            ask: item.ask, approved: item.approved, groups: item.groups)
    }
}

/// Roster and subscription intents on the live session (RFC 6121 §2.3–2.5, §3), carried out
/// by `Intents` in order.
enum RosterIntents {
    /// What earlier intents of the same run set, per JID: the pushes confirming them may not
    /// be stored yet, and a later edit builds on them.
    typealias Written = [String: (name: String?, groups: [String])]

    static func perform(_ intent: Intent, written: inout Written, _ context: FeatureContext) async throws {
        guard let action = intent.rosterAction, let jid = JID(validating: intent.target)?.bare else {
            throw Intents.Refusal("invalid JID")
        }
        if let item = try await perform(action, intent.arguments, jid: jid, earlier: written[jid.description], context) {
            written[jid.description] = item
        }
    }

    /// Returns the name and groups it set, if it set an item.
    private static func perform(
        _ action: RosterAction, _ args: Intent.Payload, jid: JID, earlier: (name: String?, groups: [String])?,
        _ context: FeatureContext
    ) async throws -> (name: String?, groups: [String])? {
        let store = context.store
        let accountID = context.account.rowID
        let contact = try store.contact(accountID: accountID, jid: jid.description)
        switch action {
        case .add:
            let name = args.name ?? earlier?.name ?? contact?.name
            let groups = args.groups ?? earlier?.groups ?? []
            _ = try await context.request(Roster.set(id: context.nextID(), jid: jid, name: name, groups: groups))
            if contact?.subscription.seesTheirPresence != true {
                try await context.send([Subscription.stanza(.subscribe, to: jid)])
            }
            return (name, groups)
        case .update:
            let name = args.name ?? earlier?.name ?? contact?.name
            let groups = try args.groups ?? earlier?.groups ?? store.contactGroups(accountID: accountID, jid: jid.description)
            _ = try await context.request(Roster.set(id: context.nextID(), jid: jid, name: name, groups: groups))
            return (name, groups)
        case .remove:
            do {
                _ = try await context.request(Roster.remove(id: context.nextID(), jid: jid))
            } catch let error as StanzaError where error.condition == "item-not-found" {
                // Already gone: what the user wanted.
            }
            return nil
        case .accept:
            var stanzas = [Subscription.stanza(.subscribed, to: jid)]
            if contact?.subscription.seesTheirPresence != true, contact?.ask != true {
                stanzas.append(Subscription.stanza(.subscribe, to: jid))
            }
            try await context.send(stanzas)
            return nil
        case .deny:
            try await context.send([Subscription.stanza(.unsubscribed, to: jid)])
            return nil
        }
    }
}
