/// XEP-0410: MUC Self-Ping (Schrödinger's Chat) §3.2: are we still in the room?
///
/// A XEP-0199 ping to our own occupant JID. The room either answers for us (not joined, or the
/// §3.3 optimisation) or reflects it to one of our joined clients, whose reply comes back.
public enum SelfPing {
    /// Rooms advertising this answer self-pings themselves (§3.3), so a reply never depends on
    /// another of our clients being reachable.
    public static let optimizationFeature = "http://jabber.org/protocol/muc#self-ping-optimization"

    public static func request(occupant: JID, id: String) -> Element {
        Ping.request(id: id, to: occupant)
    }

    public enum Verdict: Sendable, Equatable {
        case joined
        /// Rejoin.
        case notJoined
        /// Nothing learnt: keep the state, try again later.
        case inconclusive
    }

    /// Reads the reply to `request` (nil: it timed out), following §3.2's list:
    /// - result → joined;
    /// - `service-unavailable`, `feature-not-implemented` → joined (the client the room reflected
    ///   the ping to does not do XEP-0199);
    /// - `item-not-found` → joined (§3.2: another client of ours just changed the shared nick);
    /// - `remote-server-not-found`, `remote-server-timeout` → inconclusive: these come from a server
    ///   on the way, not the room, so they say the room is unreachable, which §3.2 treats as a
    ///   timeout, not that it has forgotten us;
    /// - any other error (`not-acceptable` recommended; `not-allowed`, `bad-request` seen) → not joined;
    /// - no reply, or one that is not a result or error → inconclusive.
    public static func verdict(reply: Element?) -> Verdict {
        guard let reply, reply.matches("iq", NS.client), let iq = IQ(reply) else { return .inconclusive }
        switch iq.kind {
        case .result:
            return .joined
        case .error:
            switch iq.error?.condition {
            case "service-unavailable", "feature-not-implemented", "item-not-found":
                return .joined
            case "remote-server-not-found", "remote-server-timeout":
                return .inconclusive
            default:
                return .notJoined
            }
        case .get, .set:
            return .inconclusive
        }
    }
}
