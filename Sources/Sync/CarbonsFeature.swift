import Foundation
import Store
import XMPP

/// XEP-0280 on a live session: carbons enabled on every new session when our server offers
/// them (§3–§4), and trusted copies (§6–§7, §11) stored as the history they stand for.
///
/// A received copy becomes exactly the row the original would have made, so the same message
/// reaching us directly and as a copy collapses to one. A sent copy is our own message written
/// on another device. Copies are never answered (§10.4): the resource that got the original
/// sends any receipt.
struct CarbonsFeature: SessionFeature {
    var discoFeatures: [String] { [] }

    static let requestTimeout: Duration = .seconds(15)

    func sessionStarted(_ context: FeatureContext) async {
        guard await Self.serverOffersCarbons(context) else { return }
        // A refusal (§4.1, e.g. forbidden by policy) leaves a session without copies, nothing worse.
        _ = try? await context.request(Carbons.enableRequest(id: context.nextID()), timeout: Self.requestTimeout)
    }

    /// Everything that claims to be a copy, forged ones included: they must not reach the
    /// ordinary message path, where their outer body would be stored.
    func claims(_ stanza: Element, _ context: FeatureContext) -> Bool {
        Carbons.copy(in: stanza, ourJID: context.boundJID) != .notACarbon
    }

    func handle(_ stanzas: [Element], _ context: FeatureContext) async throws {
        let now = Date()
        let rows = stanzas.compactMap { stanza -> MessageRows.Row? in
            guard case .copy(let copy) = Carbons.copy(in: stanza, ourJID: context.boundJID),
                let record = Self.record(for: copy, account: context.account, ourJID: context.boundJID, receivedAt: now)
            else { return nil }
            return (record, stanza)
        }
        // One transaction for the burst.
        let stored = try await MessageRows.commit(rows, context)
        for message in stored.changed { await context.emit(.message(message)) }
    }

    /// disco#info of our server's domain lists `urn:xmpp:carbons:2` (§3); no answer means no.
    static func serverOffersCarbons(_ context: FeatureContext) async -> Bool {
        guard let server = JID(validating: context.boundJID.domain),
            let query = try? await context.discoInfo(of: server, timeout: requestTimeout)
        else { return false }
        return Carbons.isOffered(byServerInfo: query)
    }

    /// The history row a trusted copy stands for, or nil when it has nothing to show
    /// (chat states, receipts, errors).
    static func record(for copy: Carbons.Copy, account: Account, ourJID: JID, receivedAt: Date) -> StoredMessage? {
        switch copy {
        case .received(let original):
            return IncomingMessages.record(for: original, account: account, ourJID: ourJID, receivedAt: receivedAt)
        case .sent(let original):
            let message = Message(original)
            guard message.kind == .chat || message.kind == .normal,
                let body = message.body, !body.isEmpty,
                let to = message.to, to.bare != ourJID.bare  // notes to self: not a conversation, as in IncomingMessages
            else { return nil }
            // The server stamps `from` on what our other resource sent; without it, the account wrote it.
            let sender = message.from ?? ourJID.bare
            let timestamp = Delay.timestamp(of: original) ?? receivedAt
            let originID = StanzaID.originID(of: original)
            let record = StoredMessage(
                accountID: account.rowID, conversation: to.bare.description, direction: .outgoing,
                type: message.kind == .chat ? "chat" : "normal", sender: sender.description,
                recipient: to.description, body: body,
                timestamp: timestamp.timeIntervalSince1970, receivedAt: receivedAt.timeIntervalSince1970,
                stanzaKey: message.id, originID: originID, stanzaID: StanzaID.stanzaID(of: original, by: ourJID.bare),
                dedupKey: IncomingMessages.dedupKey(from: sender, id: message.id, originID: originID, body: body, timestamp: timestamp),
                isRead: true)
            return HistoryEdits.marking(record, from: original)
        }
    }
}
