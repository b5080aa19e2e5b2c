/// XEP-0421: Occupant identifiers for semi-anonymous MUCs (`urn:xmpp:occupant-id:0`), version 1.0.
///
/// A room that advertises the feature (§2) stamps every message and presence it sends, join
/// history and archive included, with `<occupant-id id='…'/>`, replacing any the sender wrote
/// (§4). The id is the same for one real bare JID in one room across renames and rejoins
/// (§4.1), opaque, 1 to 128 characters. It MUST be ignored unless the room advertises the
/// feature (§4, §5): a room that does not know it relays whatever its occupants put there.
public enum OccupantID {
    public static let namespace = "urn:xmpp:occupant-id:0"
    static let maxLength = 128

    /// The room's disco#info (§2) says it stamps occupant-ids.
    public static func isAdvertised(info: Element) -> Bool {
        MUC.features(fromInfo: info).contains(namespace)
    }

    /// The occupant-id a room stamped on `stanza`; nil when there is none, or not exactly one,
    /// or it is not a valid one (§4). Trust it only from a room that advertises the feature.
    public static func id(in stanza: Element) -> String? {
        let stamps = stanza.children("occupant-id", namespace: namespace)
        guard stamps.count == 1, let id = stamps[0]["id"], !id.isEmpty, id.count <= maxLength else { return nil }
        return id
    }
}
