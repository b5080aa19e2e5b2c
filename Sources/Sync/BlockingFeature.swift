import Foundation
import Store
import XMPP

/// XEP-0191 on a live session: the blocklist is fetched on each new session and cached, block
/// and unblock intents stored by any tern process are carried out in order (`Intents`), and the server's
/// pushes (trusted only from our own account) keep the cache current.
struct BlockingFeature: SessionFeature {
    var discoFeatures: [String] { [] }

    /// The user's changes first, then the server's list, which already has them.
    func sessionStarted(_ context: FeatureContext) async {
        await Intents.carryOutInTurn(context, kinds: Intents.blockingKinds)
        await context.gate.run {
            do {
                let result = try await context.request(Blocking.listRequest(id: context.nextID()), timeout: .seconds(15))
                try context.store.replaceBlocklist(accountID: context.account.rowID, jids: Blocking.blocklist(inResult: result))
            } catch {
                // The server may not offer XEP-0191; the cache stays as it was.
            }
        }
    }

    func claims(_ stanza: Element, _ context: FeatureContext) -> Bool {
        guard stanza.matches("iq", NS.client), let iq = IQ(stanza) else { return false }
        return Blocking.isPush(iq)
    }

    func handle(_ stanzas: [Element], _ context: FeatureContext) async throws {
        // After any fetch in flight has stored its (older) list: see SerialGate.
        try await context.gate.run { try await applyPushes(stanzas, context) }
    }

    private func applyPushes(_ stanzas: [Element], _ context: FeatureContext) async throws {
        var replies: [Element] = []
        for stanza in stanzas {
            guard let iq = IQ(stanza) else { continue }
            guard let push = Blocking.push(iq, ourJID: context.boundJID) else {
                replies.append(iq.errorReply("service-unavailable"))
                continue
            }
            switch push {
            case .block(let jids):
                _ = try context.unlessRefused { try context.store.applyBlocklistChange(accountID: context.account.rowID, block: true, jids: jids) }
            case .unblock(let jids):
                try context.store.applyBlocklistChange(accountID: context.account.rowID, block: false, jids: jids)
            }
            replies.append(iq.result())
        }
        try? await context.send(replies)
    }

    /// A block or unblock intent (§3.2, §3.3), cached once the server agreed.
    static func perform(_ intent: Intent, _ context: FeatureContext) async throws {
        let block = intent.kind == .block
        let request = block
            ? Blocking.blockRequest(id: context.nextID(), jids: [intent.target])
            : Blocking.unblockRequest(id: context.nextID(), jids: [intent.target])
        _ = try await context.request(request, timeout: .seconds(15))
        try? context.store.applyBlocklistChange(accountID: context.account.rowID, block: block, jids: [intent.target])
    }
}
