import Foundation

/// XEP-0085: Chat State Notifications (`http://jabber.org/protocol/chatstates`, version 2.1).
///
/// §2 the five states; §5.1 when to send them (only to a contact known to support them:
/// it advertised the namespace, or sent us a state itself; a first message may carry
/// `<active/>` to find out); §5.5 standalone notifications, which carry no body and, by
/// XEP-0334, ask the server not to store them; §5.6 never in a groupchat unless the room
/// asks for it, which tern does not do.
public enum ChatState: String, Sendable, CaseIterable, Equatable {
    case active, composing, paused, inactive, gone

    public static let namespace = "http://jabber.org/protocol/chatstates"

    public var element: Element { Element(rawValue, namespace: Self.namespace) }

    /// The state a message carries, if any (the first known one).
    public init?(in message: Element) {
        guard let state = message.elements.lazy.compactMap({ element -> ChatState? in
            element.namespace == Self.namespace ? ChatState(rawValue: element.name) : nil
        }).first else { return nil }
        self = state
    }

    /// §5.5: a state on its own, in a chat message with no body, marked no-store (XEP-0334 §4).
    public func notification(to: JID, id: String) -> Element {
        Element(
            "message", namespace: NS.client, attributes: ["to": to.description, "type": "chat", "id": id],
            elements: [element, Element("no-store", namespace: "urn:xmpp:hints")])
    }
}
