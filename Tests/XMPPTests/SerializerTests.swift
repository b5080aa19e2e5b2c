/// RFC 6120 §4.2 / §11: XMLSerializer output, escaping and refusal of unserialisable stanzas.
import Testing
@testable import XMPP

private let streamHeaderForParsing =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"

/// Parses `xml` as a depth-1 element of a jabber:client stream.
private func parseStanza(_ xml: String) throws -> Element? {
    let events = try StreamParser().feed(streamHeaderForParsing + xml)
    guard events.count == 2, case .element(let element) = events[1] else { return nil }
    return element
}

@Suite struct SerializerTests {
    @Test func serializer__roundTripsTrickyElement__throughTheParser() throws {
        let tricky = Element("message", namespace: NS.client,
            attributes: [
                "to": "romeo@example.net", "id": "a'b\"c", "xml:lang": "de",
                "note": "tab\there\nnewline\rcr & <amp> ]]>",
            ],
            children: [
                .element(Element("body", namespace: NS.client, elements: [], text: "5 < 6 && 7 > 3 ]]> \"q\" 'a' line1\r\nline2\ttab café 🐸 \u{9B}\u{202E}")),
                .element(Element("x", namespace: "urn:example:other", elements: [
                    Element("y", namespace: "urn:example:other", attributes: ["k": ""]),
                    Element("z", namespace: NS.client),
                    Element("none", namespace: ""),
                ])),
                .text("tail"),
                .element(Element("active", namespace: NS.chatStates)),
            ])
        let xml = try XMLSerializer.serialize(tricky)
        #expect(try parseStanza(xml) == tricky)
    }

    @Test func serializer__roundTripsStreamNamespacedElements__withStreamPrefix() throws {
        let features = Element("features", namespace: NS.stream, elements: [
            Element("starttls", namespace: NS.tls, elements: [Element("required", namespace: NS.tls)]),
            Element("ver", namespace: NS.client),
        ])
        let xml = try XMLSerializer.serialize(features)
        #expect(xml == "<stream:features><starttls xmlns='\(NS.tls)'><required/></starttls><ver/></stream:features>")
        #expect(try parseStanza(xml) == features)
    }

    /// The xml prefix is bound by definition and may not become the default namespace
    /// (Namespaces in XML 1.0 §3), so `<xml:x/>` from the wire is written back with it.
    @Test func serializer__roundTripsXMLNamespacedElements__withXMLPrefix() throws {
        let stanza = Element("message", namespace: NS.client, elements: [
            Element("x", namespace: NS.xml, elements: [Element("body", namespace: NS.client, elements: [], text: "hi")]),
        ])
        let xml = try XMLSerializer.serialize(stanza)
        #expect(xml == "<message><xml:x><body>hi</body></xml:x></message>")
        #expect(try parseStanza(xml) == stanza)
        #expect(try parseStanza(XMLSerializer.serialize(Element("x", namespace: NS.xml))) == Element("x", namespace: NS.xml))
    }

    /// `xmlns` is reserved for attributes (declarations), not for element names.
    @Test func serializer__roundTripsAnElementNamedXmlns() throws {
        let stanza = Element("message", namespace: NS.client, elements: [Element("xmlns", namespace: NS.client)])
        #expect(try parseStanza(XMLSerializer.serialize(stanza)) == stanza)
        #expect(throws: SerializationError.self) {
            try XMLSerializer.serialize(Element("x", namespace: NS.client, attributes: ["xmlns": "urn:x"]))
        }
    }

    @Test func serializer__declaresStreamPrefix__whenStandalone() throws {
        let error = Element("error", namespace: NS.stream, elements: [Element("conflict", namespace: NS.streams)])
        #expect(try XMLSerializer.serialize(error, parentNamespace: nil)
            == "<stream:error xmlns:stream='\(NS.stream)'><conflict xmlns='\(NS.streams)'/></stream:error>")
        #expect(try XMLSerializer.serialize(error, parentNamespace: NS.stream)
            == "<stream:error><conflict xmlns='\(NS.streams)'/></stream:error>")
    }

    @Test func serializer__escapesMarkupCharacters__inAttributesAndText() throws {
        let element = Element("message", namespace: NS.client, attributes: ["to": "a'b\"c&<>"], children: [.text("x & y < z > w 'q' \"d\"")])
        #expect(try XMLSerializer.serialize(element)
            == "<message to='a&apos;b&quot;c&amp;&lt;&gt;'>x &amp; y &lt; z &gt; w 'q' \"d\"</message>")
    }

    @Test func serializer__escapesWhitespace__soItSurvivesNormalisation() throws {
        let element = Element("a", namespace: NS.client, attributes: ["v": "1\t2\n3\r4"], children: [.text("x\ry\nz\tw")])
        #expect(try XMLSerializer.serialize(element) == "<a v='1&#9;2&#10;3&#13;4'>x&#13;y\nz\tw</a>")
    }

    @Test func serializer__emitsXmlns__onlyWhereNamespaceChanges() throws {
        let element = Element("iq", namespace: NS.client, attributes: ["type": "get"], elements: [
            Element("query", namespace: NS.roster, elements: [
                Element("item", namespace: NS.roster),
                Element("x", namespace: NS.client),
            ]),
            Element("back", namespace: NS.client),
        ])
        #expect(try XMLSerializer.serialize(element)
            == "<iq type='get'><query xmlns='jabber:iq:roster'><item/><x xmlns='jabber:client'/></query><back/></iq>")
        #expect(try XMLSerializer.serialize(element, parentNamespace: nil).hasPrefix("<iq xmlns='jabber:client' type='get'>"))
        #expect(try XMLSerializer.serialize(Element("x", namespace: ""))
            == "<x xmlns=''/>")
    }

    @Test func serializer__writesXmlLang__asPrefixedAttributeWithoutDeclaration() throws {
        let element = Element("message", namespace: NS.client, attributes: ["xml:lang": "fr"])
        let xml = try XMLSerializer.serialize(element)
        #expect(xml == "<message xml:lang='fr'/>")
        #expect(try parseStanza(xml)?["xml:lang"] == "fr")
    }

    @Test func serializer__sortsAttributes__forDeterministicOutput() throws {
        let element = Element("m", namespace: NS.client, attributes: ["z": "1", "a": "2", "id": "3", "from": "4"])
        #expect(try XMLSerializer.serialize(element) == "<m a='2' from='4' id='3' z='1'/>")
    }

    @Test func serializer__refusesCharactersOutsideXML10() {
        let cases: [(Element, UInt32)] = [
            (Element("m", namespace: NS.client, children: [.text("a\u{0}b")]), 0x0),
            (Element("m", namespace: NS.client, attributes: ["to": "a\u{1}"]), 0x1),
            (Element("m", namespace: NS.client, children: [.text("\u{FFFE}")]), 0xFFFE),
            (Element("m", namespace: NS.client, elements: [Element("b", namespace: NS.client, elements: [], text: "ok\u{FFFF}")]), 0xFFFF),
            (Element("m", namespace: "urn:x\u{1F}"), 0x1F),
        ]
        for (element, scalar) in cases {
            #expect(throws: SerializationError.self) { try XMLSerializer.serialize(element) }
            do {
                _ = try XMLSerializer.serialize(element)
            } catch {
                guard case .invalidCharacter(let got, _) = error else {
                    Issue.record("wrong error \(error)")
                    continue
                }
                #expect(got == scalar)
            }
        }
    }

    @Test func serializer__acceptsBoundaryCharactersInsideXML10() throws {
        let text = "\u{9}\u{A}\u{20}\u{7F}\u{9F}\u{D7FF}\u{E000}\u{FFFD}\u{10000}\u{10FFFF}"
        let element = Element("m", namespace: NS.client, elements: [Element("b", namespace: NS.client, elements: [], text: text)])
        #expect(try parseStanza(try XMLSerializer.serialize(element)) == element)
    }

    @Test func serializer__refusesNamesThatWouldCorruptTheStream() {
        let bad: [Element] = [
            Element("a b", namespace: NS.client),
            Element("", namespace: NS.client),
            Element("p:x", namespace: NS.client),
            Element("m", namespace: NS.client, attributes: ["xmlns": "urn:x"]),
            Element("m", namespace: NS.client, attributes: ["xmlns:p": "urn:x"]),
            Element("m", namespace: NS.client, attributes: ["foo:bar": "1"]),
            Element("m", namespace: NS.client, attributes: ["a='x' b": "1"]),
        ]
        for element in bad {
            #expect(throws: SerializationError.self) { try XMLSerializer.serialize(element) }
        }
    }

    @Test func serializer__streamHeader__matchesRFC6120Form() throws {
        #expect(XMLSerializer.streamHeader(to: "example.com")
            == "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
            + "to='example.com' version='1.0' xml:lang='en'>")
        #expect(XMLSerializer.streamHeader(to: "example.com", from: "juliet@example.com", lang: "fr").contains("to='example.com' from='juliet@example.com' version='1.0' xml:lang='fr'>"))
        // Our own parser accepts our header, and the footer closes it.
        let events = try StreamParser().feed(XMLSerializer.streamHeader(to: "a'b") + XMLSerializer.streamFooter)
        #expect(events == [.streamOpened(attributes: ["to": "a'b", "version": "1.0", "xml:lang": "en"]), .streamClosed])
    }
}

@Suite struct SerializedElementTests {
    @Test func elementFromSerialized__roundTripsNamespacesAndText() throws {
        let original = Element("extensions", namespace: NS.bookmarks, elements: [
            Element("notify", namespace: "urn:example", attributes: ["level": "all"], elements: [], text: "a < b"),
        ])
        let text = try XMLSerializer.serialize(original)
        let back = try StreamParser.element(fromSerialized: text)
        #expect(try XMLSerializer.serialize(back) == text)
        #expect(back.child("notify", namespace: "urn:example")?["level"] == "all")
    }

    @Test func elementFromSerialized__refusesAnythingButOneElement() {
        for bad in ["", "text", "<a/><b/>", "<a>", "<?xml version='1.0'?><a/>"] {
            #expect(throws: XMLStreamError.self, "\(bad)") { try StreamParser.element(fromSerialized: bad) }
        }
    }
}
