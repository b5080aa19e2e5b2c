import Foundation

/// XEP-0066: Out of Band Data, the message form (`jabber:x:oob`, §3): a URL to a file,
/// which is how clients show an HTTP upload (XEP-0363 §5) as a file rather than a link.
public enum OutOfBand {
    public static let namespace = "jabber:x:oob"

    /// `<x xmlns='jabber:x:oob'><url>…</url></x>`.
    public static func element(url: String, description: String? = nil) -> Element {
        var children = [Element("url", namespace: namespace, elements: [], text: url)]
        if let description { children.append(Element("desc", namespace: namespace, elements: [], text: description)) }
        return Element("x", namespace: namespace, elements: children)
    }

    /// The URL a message offers, if it carries one.
    public static func url(in message: Element) -> String? {
        guard let text = message.child("x", namespace: namespace)?.childText("url", namespace: namespace) else { return nil }
        let url = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return url.isEmpty ? nil : url
    }
}
