/// XEP-0308: Last Message Correction (`urn:xmpp:message-correct:0`), version 1.2.
///
/// A correction is an ordinary message whose `<replace id='…'/>` names the `id` attribute of
/// the message it replaces (§3); its body is the whole new text. Only the original sender may
/// correct a message (§5: same bare JID in 1:1, same occupant in a room); the receiver checks
/// that, here it is only parsed and built.
public enum Correction {
    public static let namespace = "urn:xmpp:message-correct:0"

    /// The id of the message this one corrects, or nil when it corrects nothing.
    public static func replacedID(in message: Element) -> String? {
        guard let id = message.child("replace", namespace: namespace)?["id"], !id.isEmpty else { return nil }
        return id
    }

    /// The `<replace/>` child that makes a message a correction of `id` (§3).
    public static func replace(_ id: String) -> Element {
        Element("replace", namespace: namespace, attributes: ["id": id])
    }
}
