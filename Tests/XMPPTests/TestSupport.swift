import Testing
@testable import XMPP

/// Parses `xml` as a depth-1 element of a jabber:client stream.
func parseElement(_ xml: String) throws -> Element {
    let events = try StreamParser().feed(
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>" + xml)
    guard case .element(let element)? = events.last else { throw XMLStreamError.notWellFormed("no element in \(xml)") }
    return element
}

/// What the peer receives: serialised as on the socket, then parsed back.
func wire(_ element: Element) throws -> Element {
    try parseElement(XMLSerializer.serialize(element))
}
