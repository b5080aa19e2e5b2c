/// XEP-0359: Unique and Stable Stanza IDs (`urn:xmpp:sid:0`): origin-id and stanza-id.
///
/// The origin-id is ours (the outbox UUID), so our own copies coming back dedupe against it.
/// A stanza-id is only trusted when `by` names the archive that we know stamps ids.
public enum StanzaID {
    public static func originID(_ id: String) -> Element {
        Element("origin-id", namespace: NS.sid, attributes: ["id": id])
    }

    public static func originID(of stanza: Element) -> String? {
        stanza.child("origin-id", namespace: NS.sid)?["id"]
    }

    /// The stanza-id assigned by `archive`, ignoring ids claimed by anyone else.
    public static func stanzaID(of stanza: Element, by archive: JID) -> String? {
        stanza.children("stanza-id", namespace: NS.sid)
            .first { $0["by"].flatMap { try? JID($0) } == archive }?["id"]
    }
}
