import Foundation

/// XEP-0203: Delayed Delivery (`urn:xmpp:delay`): the original send time of offline,
/// archived or resent messages. Timestamps follow XEP-0082 (UTC, optional fractions).
public enum Delay {
    /// The `stamp` of the `<delay/>` child, if present and parseable.
    public static func timestamp(of stanza: Element) -> Date? {
        stanza.child("delay", namespace: NS.delay)?["stamp"].flatMap(parse)
    }

    public static func element(stamp: Date, from: String? = nil) -> Element {
        var attributes = ["stamp": format(stamp)]
        if let from { attributes["from"] = from }
        return Element("delay", namespace: NS.delay, attributes: attributes)
    }

    /// XEP-0082 DateTime: `CCYY-MM-DDThh:mm:ss[.sss]TZD`.
    public static func parse(_ text: String) -> Date? {
        let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        let plain = Date.ISO8601FormatStyle()
        return (try? withFraction.parse(text)) ?? (try? plain.parse(text))
    }

    public static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
