/// RFC 6121 §4: exchanging presence information (available and unavailable, per resource).
///
/// Only presence with a valid sender is read; subscription stanzas (§3), probes and
/// errors are not availability and give nil here.
public enum PresenceExchange {
    public struct Update: Sendable, Equatable {
        public var from: JID
        public var available: Bool
        public var show: Presence.Show?
        public var status: String?
        public var priority: Int
    }

    public static func update(_ element: Element) -> Update? {
        guard element.matches("presence", NS.client), let from = element["from"].flatMap({ JID(validating: $0) }) else {
            return nil
        }
        let presence = Presence(element)
        let available: Bool
        switch presence.type {
        case nil: available = true
        case "unavailable": available = false
        default: return nil
        }
        // §4.7.2.3: priority is -128…127; anything else is treated as 0.
        let priority = (-128...127).contains(presence.priority) ? presence.priority : 0
        return Update(
            from: from, available: available, show: available ? presence.show : nil, status: presence.status,
            priority: available ? priority : 0)
    }

    /// Our own available presence with the stored show and status (§4.2, §4.4).
    public static func own(show: Presence.Show?, status: String?, priority: Int) -> Element {
        Presence.available(show: show, status: status, priority: priority).element
    }
}
