/// XEP-0249: Direct MUC Invitations (`jabber:x:conference`) §2–§3: sending and reading an invitation
/// that goes straight to the invitee instead of through the room.
///
/// Anyone can send one, so an invitation is only a suggestion: whether to show it (or to join
/// at all) is the caller's policy. The room must be a plain room address; a missing or malformed
/// `jid` makes the whole invitation meaningless.
public enum DirectInvite {
    public struct Invite: Sendable, Equatable {
        /// The room's bare JID.
        public var room: JID
        /// The sender, as the stanza's `from` says (our server stamps it for remote senders).
        public var from: JID?
        public var reason: String?
        public var password: String?
        /// `continue='true'`: the invitation turns a one-to-one chat into this room (§3).
        public var isContinuation: Bool
    }

    public static func message(to: JID, room: JID, reason: String?, password: String?, id: String) -> Element {
        var attributes = ["jid": room.bare.description]
        if let reason, !reason.isEmpty { attributes["reason"] = reason }
        if let password { attributes["password"] = password }
        return Element(
            "message", namespace: NS.client, attributes: ["to": to.description, "id": id],
            elements: [Element("x", namespace: NS.conference, attributes: attributes)])
    }

    /// The invitation in `message`, or nil when there is none or its room address is unusable.
    /// Error bounces and room traffic (groupchat) are not invitations to us.
    public static func invite(in message: Element) -> Invite? {
        guard message.matches("message", NS.client),
              message["type"] != "error", message["type"] != "groupchat",
              let x = message.child("x", namespace: NS.conference),
              let room = x["jid"].flatMap(JID.init(validating:)), MUC.isRoomJID(room)
        else { return nil }
        return Invite(
            room: room,
            from: message["from"].flatMap(JID.init(validating:)),
            reason: x["reason"].flatMap { $0.isEmpty ? nil : $0 },
            password: x["password"],
            isContinuation: x["continue"] == "true" || x["continue"] == "1")
    }
}
