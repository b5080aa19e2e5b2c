/// XEP-0199: XMPP Ping (`urn:xmpp:ping`), both ways.
///
/// We answer the server's pings, and send our own to notice a dead link
/// and to learn when the server has processed everything we sent before it.
public enum Ping {
    public static let feature = NS.ping

    public static func request(id: String, to: JID? = nil) -> Element {
        IQ.request(.get, id: id, to: to, payload: Element("ping", namespace: NS.ping))
    }

    public static func isRequest(_ iq: IQ) -> Bool {
        iq.kind == .get && iq.payload?.matches("ping", NS.ping) == true
    }
}
