/// XEP-0352 Client State Indication: §4.1 discovery (a `<csi/>` stream feature) and §4.2
/// the `<active/>` / `<inactive/>` nonzas.
///
/// §5.2: the state is not restored when a stream is resumed, so every stream, resumed or
/// new, begins active and an idle client says `inactive` again.
public enum ClientState: Sendable, Equatable {
    case active
    case inactive

    /// Whether the server offers CSI among the post-authentication stream features.
    public static func isOffered(in features: Element) -> Bool {
        features.child("csi", namespace: NS.csi) != nil
    }

    /// The nonza announcing this state (not a stanza: XEP-0198 does not count it).
    public var element: Element {
        Element(self == .active ? "active" : "inactive", namespace: NS.csi)
    }
}
