import Foundation
import Store
import XMPP

/// XEP-0085 on the live session: the worked example of a XEP added as one feature.
///
/// Incoming: it observes one-to-one messages carrying a state (a standalone notification, or
/// a message with `<active/>`) and tells the UI, which shows it in the prompt, never as a
/// line. A contact that sent a state supports them (§5.1), so ours may go to it. Outgoing:
/// `SyncEngine.sendChatState` sends standalone notifications (§5.5) only to such contacts and
/// only while online: a state is stale a moment later, so it is never queued.
struct ChatStatesFeature: SessionFeature {
    let peers = ChatStatePeers()

    var discoFeatures: [String] { [ChatState.namespace] }

    func observes(_ stanza: Element, _ context: FeatureContext) -> Bool {
        guard stanza.matches("message", NS.client), ChatState(in: stanza) != nil else { return false }
        // §5.6: rooms only on request, which we never make; carbons of our own states neither.
        let kind = Message(stanza).kind
        return kind == .chat || kind == .normal
    }

    func observe(_ stanzas: [Element], _ context: FeatureContext) async throws {
        for stanza in stanzas {
            guard let state = ChatState(in: stanza), let from = Message(stanza).from,
                from.bare != context.boundJID.bare, Carbons.copy(in: stanza, ourJID: context.boundJID) == .notACarbon
            else { continue }
            let bare = from.bare.description
            await peers.add(bare)
            await context.emit(.chatState(jid: bare, state))
        }
    }

    func linkLost(accountID: Int64) async {}
}

/// Contacts that sent us a chat state this process: ours may go to them (XEP-0085 §5.1).
/// Anyone can send one, so the set is bounded: past `capacity` it starts again (a contact
/// that still types will be learned again from its next state).
actor ChatStatePeers {
    static let capacity = 1024
    private var supporting: Set<String> = []

    func add(_ bare: String) {
        if supporting.count >= Self.capacity, !supporting.contains(bare) { supporting.removeAll(keepingCapacity: true) }
        supporting.insert(bare)
    }
    func supports(_ bare: String) -> Bool { supporting.contains(bare) }
}

extension SyncEngine {
    /// Tells `jid` (a contact's bare JID) our chat state, when we are online and it is known
    /// to take them (it sent one, or its cached capabilities list the namespace). Not stored:
    /// a state that cannot go now is worth nothing later.
    public func sendChatState(_ state: ChatState, to jid: String) async {
        guard isOnline, let to = JID(validating: jid)?.bare, let feature = feature(ChatStatesFeature.self) else { return }
        let advertised = { [store, account] in
            (try? store.contactDetails(accountID: account.rowID, jid: to.description))?.resources
                .contains { $0.features?.contains(ChatState.namespace) == true } ?? false
        }
        guard await feature.peers.supports(to.description) || advertised() else { return }
        try? await send([state.notification(to: to, id: UUID().uuidString.lowercased())])
    }
}
