import Foundation

/// XEP-0184: Message Delivery Receipts (`urn:xmpp:receipts`).
///
/// §5.1: a message that asks for a receipt carries `<request/>` and an id; the recipient
/// answers with `<received id/>` once it has the message. §5.3: never for groupchat, never
/// for a message without an id.
public enum Receipts {
    public static let feature = NS.receipts

    /// Whether `message` asks for a receipt we can give (§5.1, §5.3).
    public static func isRequested(in message: Message) -> Bool {
        message.kind != .groupchat && message.kind != .error && message.id != nil && message.rawFrom != nil
            && message.element.child("request", namespace: NS.receipts) != nil
    }

    /// The receipt for `message`, addressed to whoever sent it, or nil when none is asked for.
    public static func receipt(for message: Message, id: String) -> Element? {
        guard isRequested(in: message), let asked = message.id, let from = message.rawFrom else { return nil }
        return Element(
            "message", namespace: NS.client, attributes: ["to": from, "id": id],
            elements: [Element("received", namespace: NS.receipts, attributes: ["id": asked])])
    }

    /// The id of our message that `message` confirms, if it is a receipt.
    public static func receivedID(in message: Message) -> String? {
        message.element.child("received", namespace: NS.receipts)?["id"]
    }
}
