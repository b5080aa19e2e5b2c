import Foundation
import Store
import XMPP

/// What we answer about ourselves: XEP-0092 software version and XEP-0012 last activity,
/// each only where the user allows it (`tern sharing`), plus our XEP-0115 caps.
///
/// Last activity goes only to contacts who may see our presence anyway (subscription `from`
/// or `both`) and to our own account, as XEP-0012 §4 advises; everyone else gets `forbidden`.
struct DetailsFeature: SessionFeature {
    var discoFeatures: [String] { [NS.version, LastActivity.namespace, EntityCapabilities.namespace] }

    func sessionStarted(_ context: FeatureContext) async {}

    func claims(_ stanza: Element, _ context: FeatureContext) -> Bool {
        guard stanza.matches("iq", NS.client), let iq = IQ(stanza) else { return false }
        return SoftwareVersion.isQuery(iq) || LastActivity.isQuery(iq)
    }

    func handle(_ stanzas: [Element], _ context: FeatureContext) async throws {
        let accountID = context.account.rowID
        // Unread, the user's choice is unknown: answering as if sharing were on could say what they withheld.
        let sharing = try context.store.sharing(accountID: accountID)
        var replies: [Element] = []
        for stanza in stanzas {
            guard let iq = IQ(stanza) else { continue }
            if SoftwareVersion.isQuery(iq) {
                replies.append(sharing.version ? SoftwareVersion.tern.answer(iq) : iq.errorReply("service-unavailable"))
            } else if LastActivity.isQuery(iq) {
                guard sharing.idle else {
                    replies.append(iq.errorReply("service-unavailable"))
                    continue
                }
                guard Self.mayAskIdle(iq.from, context) else {
                    replies.append(iq.errorReply("forbidden", type: "auth"))
                    continue
                }
                replies.append(LastActivity(seconds: Self.idleSeconds(context)).answer(iq))
            }
        }
        try? await context.send(replies)
    }

    /// Seconds since the user last did something we can see: their latest outgoing message;
    /// zero when there is none (we are connected, so presumably at the keyboard).
    static func idleSeconds(_ context: FeatureContext) -> Int {
        guard let last = try? context.store.lastOutgoingTimestamp(accountID: context.account.rowID) else { return 0 }
        return max(0, Int(Store.now - last))
    }

    static func mayAskIdle(_ from: JID?, _ context: FeatureContext) -> Bool {
        guard let from else { return true }  // from our server on our behalf
        if from.bare == context.boundJID.bare { return true }
        return (try? context.store.contactDetails(accountID: context.account.rowID, jid: from.bare.description))
            .map { $0.subscription == "from" || $0.subscription == "both" } ?? false
    }
}

extension SoftwareVersion {
    /// What tern answers to XEP-0092 queries. The OS is left out: it says more than it helps.
    static let tern = SoftwareVersion(name: "tern", version: "0.1")
}

extension SessionFeatures {
    /// Everything our disco#info lists (XEP-0030): the answer and the caps hash share it.
    static var advertisedFeatures: [String] {
        make().flatMap(\.discoFeatures)
    }

    /// Our XEP-0115 `<c/>`, to append to every available presence we send.
    static let capsElement: Element? = try? EntityCapabilities.ourCaps(features: advertisedFeatures)
}

extension SyncEngine {
    /// Our XEP-0115 `<c/>` element: what every available presence of ours should carry.
    public static var capabilities: Element? { SessionFeatures.capsElement }
}
