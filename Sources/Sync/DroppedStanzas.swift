import Foundation
import XMPP

/// A stanza the parser skipped for crossing a per-stanza limit (DESIGN §6), as the user is
/// told of it: what it was and who sent it, as far as the part read before the limit says.
///
/// Anyone can make a server relay such a stanza, and an archive hands it out again on every
/// catch-up, so it costs nothing but this line: the stream goes on, XEP-0198 counts it, and
/// an archive page that held it still moves the cursor past it (the page's `<fin/>` does).
public struct DroppedStanzaReport: Sendable, Equatable {
    /// `message`, `archived message`, `carbon copy`, `presence`, `request`, `reply`, or the
    /// element's own name.
    public var kind: String
    /// The sender as written (inert only once the UI makes it so), when it could be read.
    public var from: String?
    /// Which limit it crossed.
    public var reason: String

    public init(kind: String, from: String?, reason: String) {
        self.kind = kind
        self.from = from
        self.reason = reason
    }

    /// What `dropped` was, looking through an archive result or a carbon to the message inside.
    public init(_ dropped: DroppedStanza) {
        reason = dropped.reason
        guard let stanza = dropped.partial else {
            kind = dropped.name
            from = nil
            return
        }
        from = stanza["from"]
        switch stanza.name {
        case "message":
            kind = "message"
            let wrapped: (kind: String, wrapper: Element)? =
                stanza.child("result", namespace: NS.mam).map { ("archived message", $0) }
                ?? stanza.child("received", namespace: NS.carbons).map { ("carbon copy", $0) }
                ?? stanza.child("sent", namespace: NS.carbons).map { ("carbon copy", $0) }
            if let wrapped {
                kind = wrapped.kind
                // The forwarded message's own sender, when it was read before the limit.
                from = wrapped.wrapper.child("forwarded", namespace: NS.forward)?
                    .child("message", namespace: NS.client)?["from"]
            }
        case "presence":
            kind = "presence"
        case "iq":
            kind = stanza["type"] == "get" || stanza["type"] == "set" ? "request" : "reply"
        default:
            kind = stanza.name
        }
    }

    /// The answer RFC 6120 §8.2.3 owes a request we could not read: an error, so its sender
    /// does not wait in vain.
    static func reply(to dropped: DroppedStanza) -> Element? {
        guard let stanza = dropped.partial, let iq = IQ(stanza), iq.kind == .get || iq.kind == .set, iq.id != nil
        else { return nil }
        return iq.errorReply("policy-violation", type: "modify")
    }
}
