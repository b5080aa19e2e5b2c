import Foundation
import XMPP

/// Answers requests addressed to us that no other feature claimed (RFC 6120 §8.2.3: every
/// get or set gets a result or an error): XEP-0199 ping, XEP-0030 disco#info listing what
/// every feature advertises, and `service-unavailable` for the rest (RFC 6120 §8.4).
/// Software version and last activity are `DetailsFeature`'s, as they depend on the user's
/// sharing settings.
struct IQAnswersFeature: SessionFeature {
    /// What this feature itself answers.
    static let features = [Ping.feature, NS.discoInfo]

    /// Everything our disco#info lists, this feature's own included.
    let advertised: [String]

    var discoFeatures: [String] { Self.features }

    func claims(_ stanza: Element, _ context: FeatureContext) -> Bool {
        guard stanza.matches("iq", NS.client) else { return false }
        return stanza["type"] == "get" || stanza["type"] == "set"
    }

    func handle(_ stanzas: [Element], _ context: FeatureContext) async throws {
        let replies = stanzas.compactMap { IQ($0).flatMap { Self.answer($0, features: advertised) } }
        guard !replies.isEmpty else { return }
        // Not sent means the link is gone: the burst then goes unacknowledged and comes again.
        try? await context.send(replies)
    }

    /// The answer to an iq get or set, nil for results and errors.
    static func answer(_ iq: IQ, features: [String]) -> Element? {
        guard iq.kind == .get || iq.kind == .set else { return nil }
        if Ping.isRequest(iq) { return iq.result() }
        if Disco.isInfoQuery(iq) { return Disco.infoResult(for: iq, identity: .tern, features: features) }
        return iq.errorReply("service-unavailable")
    }
}
