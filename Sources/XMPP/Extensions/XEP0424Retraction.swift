/// XEP-0424: Message Retraction (`urn:xmpp:message-retract:1`), version 0.4.
///
/// `<retract id='…'/>` asks for an earlier message to be removed (§4). The id is the original's
/// XEP-0359 origin-id in 1:1 chats and the stanza-id the room assigned in group chats (§4,
/// §5). A retraction carries a fallback body for clients without support, marked with
/// XEP-0428 (`urn:xmpp:fallback:0`, `for` this namespace) so that supporting clients do not
/// show it, and a XEP-0334 store hint so archives keep it (§4). Only the original sender may
/// retract (§7); the receiver checks that, here it is only parsed and built.
public enum Retraction {
    public static let namespace = "urn:xmpp:message-retract:1"
    static let fallbackNamespace = "urn:xmpp:fallback:0"
    static let hintsNamespace = "urn:xmpp:hints"

    /// What other clients show instead (§4's example text).
    public static let fallbackBody =
        "This person attempted to retract a previous message, but it's unsupported by your client."

    /// The id of the message this one retracts, or nil when it retracts nothing.
    public static func retractedID(in message: Element) -> String? {
        guard let id = message.child("retract", namespace: namespace)?["id"], !id.isEmpty else { return nil }
        return id
    }

    /// The children a retraction of `id` carries besides its fallback body (§4): the request,
    /// the XEP-0428 marker for the body, and the XEP-0334 store hint.
    public static func elements(retracting id: String) -> [Element] {
        [
            Element("retract", namespace: namespace, attributes: ["id": id]),
            Element("fallback", namespace: fallbackNamespace, attributes: ["for": namespace]),
            Element("store", namespace: hintsNamespace),
        ]
    }
}
