/// RFC 6120 §4 / §11: StreamParser events, chunking independence and hardening.
import Testing
@testable import XMPP

private let header =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
    + "id='c2s-42' from='example.com' version='1.0' xml:lang='en'>"

/// A server stream exercising namespaces, xml:lang, entities, CDATA,
/// multi-byte UTF-8 and whitespace keepalives.
private let realisticStream = header
    + "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
    + "<mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms>"
    + "<sm xmlns='urn:xmpp:sm:3'/></stream:features>\n \t\n"
    + "<message from='juliet@example.com/balcony' to='romeo@example.net' type='chat' id='m1' xml:lang='fr'>"
    + "<body>Tom &amp; Jerry &lt;3 &gt; &#x41;&#66; café 🐸</body><thread>t1</thread>"
    + "<active xmlns='http://jabber.org/protocol/chatstates'/></message> "
    + "<iq type='result' id='r1'><query xmlns='jabber:iq:roster' ver='v1'>"
    + "<item jid='a@b' name='A &quot;q&quot; &apos;s &amp; co'><group>Friends</group></item></query></iq>"
    + "\n<message id='m2'><body><![CDATA[<not-a-tag> & raw]]> tail</body></message>"
    + "<presence xmlns:x='urn:example:x' from='a@b/c'><x:status>away</x:status><show>dnd</show></presence>"
    + "</stream:stream>"

private let expectedEvents: [StreamEvent] = [
    .streamOpened(attributes: ["id": "c2s-42", "from": "example.com", "version": "1.0", "xml:lang": "en"]),
    .element(Element("features", namespace: NS.stream, elements: [
        Element("mechanisms", namespace: NS.sasl, elements: [
            Element("mechanism", namespace: NS.sasl, elements: [], text: "SCRAM-SHA-1"),
            Element("mechanism", namespace: NS.sasl, elements: [], text: "PLAIN"),
        ]),
        Element("sm", namespace: NS.sm),
    ])),
    .element(Element("message", namespace: NS.client,
        attributes: ["from": "juliet@example.com/balcony", "to": "romeo@example.net", "type": "chat", "id": "m1", "xml:lang": "fr"],
        elements: [
            Element("body", namespace: NS.client, elements: [], text: "Tom & Jerry <3 > AB café 🐸"),
            Element("thread", namespace: NS.client, elements: [], text: "t1"),
            Element("active", namespace: NS.chatStates),
        ])),
    .element(Element("iq", namespace: NS.client, attributes: ["type": "result", "id": "r1"], elements: [
        Element("query", namespace: NS.roster, attributes: ["ver": "v1"], elements: [
            Element("item", namespace: NS.roster, attributes: ["jid": "a@b", "name": "A \"q\" 's & co"], elements: [
                Element("group", namespace: NS.roster, elements: [], text: "Friends"),
            ]),
        ]),
    ])),
    .element(Element("message", namespace: NS.client, attributes: ["id": "m2"], elements: [
        Element("body", namespace: NS.client, elements: [], text: "<not-a-tag> & raw tail"),
    ])),
    .element(Element("presence", namespace: NS.client, attributes: ["from": "a@b/c"], elements: [
        Element("status", namespace: "urn:example:x", elements: [], text: "away"),
        Element("show", namespace: NS.client, elements: [], text: "dnd"),
    ])),
    .streamClosed,
]

private func parseAll(_ chunks: [ArraySlice<UInt8>], limits: StreamParser.Limits = .init()) throws(XMLStreamError) -> [StreamEvent] {
    let parser = StreamParser(limits: limits)
    var events: [StreamEvent] = []
    for chunk in chunks { events += try parser.feed(Array(chunk)) }
    return events
}

/// The error from feeding `input` whole, or nil when it parses.
private func failure(_ input: String, limits: StreamParser.Limits = .init()) -> XMLStreamError? {
    do {
        _ = try StreamParser(limits: limits).feed(input)
        return nil
    } catch {
        return error
    }
}

/// A stanza after each poison, to show the stream went on.
private let ok = "<message id='ok'><body>fine</body></message>"
private let okEvent = StreamEvent.element(Element("message", namespace: NS.client, attributes: ["id": "ok"], elements: [
    Element("body", namespace: NS.client, elements: [], text: "fine"),
]))

private func dropped(_ event: StreamEvent) -> DroppedStanza? { if case .dropped(let d) = event { d } else { nil } }

private func isRestricted(_ e: XMLStreamError?) -> Bool { if case .restrictedXML = e { true } else { false } }
private func isPolicy(_ e: XMLStreamError?) -> Bool { if case .policyViolation = e { true } else { false } }
private func isNotWellFormed(_ e: XMLStreamError?) -> Bool { if case .notWellFormed = e { true } else { false } }

@Suite struct StreamParserTests {
    // MARK: events

    @Test func parser__yieldsHeaderStanzasAndClose__whenFedWhole() throws {
        #expect(try StreamParser().feed(realisticStream) == expectedEvents)
    }

    @Test func parser__yieldsIdenticalEvents__forEveryTwoChunkSplit() throws {
        let bytes = Array(realisticStream.utf8)
        for cut in 0...bytes.count {
            let events = try parseAll([bytes[..<cut], bytes[cut...]])
            #expect(events == expectedEvents, "split at byte \(cut)")
            if events != expectedEvents { break }
        }
    }

    @Test func parser__yieldsIdenticalEvents__whenFedOneByteAtATime() throws {
        let bytes = Array(realisticStream.utf8)
        #expect(try parseAll(bytes.indices.map { bytes[$0...$0] }) == expectedEvents)
    }

    @Test func parser__ignoresKeepaliveWhitespace__betweenStanzas() throws {
        let parser = StreamParser()
        #expect(try parser.feed(header).count == 1)
        #expect(try parser.feed(" ").isEmpty)
        #expect(try parser.feed("\n\n \t").isEmpty)
        #expect(try parser.feed("<presence/> \n") == [.element(Element("presence", namespace: NS.client))])
    }

    @Test func parser__emitsStanza__onlyOnceItsEndTagArrives() throws {
        let parser = StreamParser()
        _ = try parser.feed(header)
        #expect(try parser.feed("<message id='1'><body>hi</bo").isEmpty)
        #expect(try parser.feed("dy></message>") == [
            .element(Element("message", namespace: NS.client, attributes: ["id": "1"], elements: [Element("body", namespace: NS.client, elements: [], text: "hi")])),
        ])
    }

    @Test func parser__mergesTextAroundChildren__intoSeparateRuns() throws {
        let events = try StreamParser().feed(header + "<message><body>a&amp;b<b>x</b>c<![CDATA[d]]>e</body></message>")
        let body = Element("body", namespace: NS.client, children: [
            .text("a&b"), .element(Element("b", namespace: NS.client, elements: [], text: "x")), .text("cde"),
        ])
        #expect(events.last == .element(Element("message", namespace: NS.client, elements: [body])))
    }

    @Test func parser__resolvesEmptyDefaultNamespace__toEmptyString() throws {
        let events = try StreamParser().feed(header + "<iq><x xmlns=''/></iq>")
        #expect(events.last == .element(Element("iq", namespace: NS.client, elements: [Element("x", namespace: "")])))
    }

    /// Sanitising is the terminal's job (DESIGN §6): the parser must hand over
    /// CR, C1, bidi and zero-width characters exactly as sent.
    @Test func parser__preservesControlAndBidiCharacters__faithfully() throws {
        let events = try StreamParser().feed(header + "<message><body>a&#13;b\u{9B}c\u{202E}d\u{200B}e</body></message>")
        #expect(events.last == .element(Element("message", namespace: NS.client, elements: [
            Element("body", namespace: NS.client, elements: [], text: "a\rb\u{9B}c\u{202E}d\u{200B}e"),
        ])))
    }

    /// C0 controls other than TAB/LF/CR are not XML 1.0 characters, even as references.
    @Test func parser__rejectsC0ControlReferences__asNotWellFormed() {
        #expect(isNotWellFormed(failure(header + "<message><body>&#x1b;[2J</body></message>")))
        #expect(isNotWellFormed(failure(header + "<message><body>&#0;</body></message>")))
    }

    @Test func parser__decodesCharacterReferencesInAttributes__includingAmpersand() throws {
        let events = try StreamParser().feed(header + "<presence status='&amp;&#38;&#x26;&lt;&#9;&#10;x'/>")
        #expect(events.last == .element(Element("presence", namespace: NS.client, attributes: ["status": "&&&<\t\nx"])))
    }

    // MARK: restricted XML (RFC 6120 §11.1)

    @Test func parser__rejectsDoctypeWithInternalSubset__asRestrictedXML() {
        #expect(isRestricted(failure("<?xml version='1.0'?><!DOCTYPE stream [<!ELEMENT stream ANY>]>" + header.dropFirst(21))))
        #expect(isRestricted(failure("<!DOCTYPE stream><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>")))
    }

    @Test func parser__rejectsBillionLaughs__asRestrictedXML() {
        let bomb = """
            <?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">\
            <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\
            <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\
            <stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><message><body>&lol3;</body></message>
            """
        #expect(isRestricted(failure(bomb)))
    }

    @Test func parser__rejectsExternalEntity__withoutReadingTheFile() throws {
        let xxe = "<?xml version='1.0'?><!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
            + "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><message><body>&xxe;</body></message>"
        let parser = StreamParser()
        var events: [StreamEvent] = []
        var error: XMLStreamError?
        // Byte by byte, so any event produced before the error would be seen.
        for byte in xxe.utf8 {
            do { events += try parser.feed([byte]) } catch let e { error = e; break }
        }
        #expect(isRestricted(error))
        #expect(events.isEmpty)
    }

    @Test func parser__rejectsUndeclaredEntity__inTextAndAttributes() {
        #expect(isRestricted(failure(header + "<message><body>&foo;</body></message>")))
        #expect(isRestricted(failure(header + "<message to='&foo;'/>")))
    }

    @Test func parser__rejectsComments__inStanzaAndProlog() {
        #expect(isRestricted(failure(header + "<message><!-- hi --></message>")))
        #expect(isRestricted(failure("<?xml version='1.0'?><!-- hi -->" + header.dropFirst(21))))
    }

    @Test func parser__rejectsProcessingInstructions__afterDeclarationAndInStream() {
        #expect(isRestricted(failure("<?xml version='1.0'?><?evil x?>" + header.dropFirst(21))))
        #expect(isRestricted(failure(header + "<?evil x?>")))
        #expect(isRestricted(failure(header + "<message><?evil x?></message>")))
    }

    // MARK: per-stanza limits: the stanza is dropped, the stream goes on (DESIGN §6)

    @Test func parser__dropsDepthBomb__andParsesTheNextStanza() throws {
        let bomb = "<message from='x@y'>" + String(repeating: "<a>", count: 10_000) + String(repeating: "</a>", count: 10_000) + "</message>"
        let events = try StreamParser().feed(header + bomb + ok)
        #expect(events.count == 3)
        #expect(dropped(events[1])?.name == "message")
        #expect(dropped(events[1])?.reason == "element nesting exceeds 64 levels")
        #expect(dropped(events[1])?.partial?["from"] == "x@y")
        #expect(events[2] == okEvent)
    }

    @Test func parser__acceptsDepthUpToLimit__andDropsOneMore() throws {
        let limits = StreamParser.Limits(maxDepth: 4)
        #expect(try StreamParser(limits: limits).feed(header + "<a><b><c/></b></a>").count == 2)
        let events = try StreamParser(limits: limits).feed(header + "<a><b><c><d/></c></b></a>" + ok)
        #expect(events.count == 3 && dropped(events[1]) != nil && events[2] == okEvent)
    }

    @Test func parser__dropsTextBeyondTextCap__countingEveryChild() throws {
        let limits = StreamParser.Limits(maxTextBytes: 100)
        #expect(try StreamParser(limits: limits).feed(header + "<m><b>" + String(repeating: "z", count: 100) + "</b></m>").count == 2)
        let split = "<m><b>" + String(repeating: "z", count: 60) + "</b><c>" + String(repeating: "z", count: 60) + "</c></m>"
        let events = try StreamParser(limits: limits).feed(header + split + ok)
        #expect(dropped(events[1])?.reason == "text in one stanza exceeds 100 bytes")
        #expect(events.count == 3 && events[2] == okEvent)
        // CDATA is text too.
        let cdata = "<m><b><![CDATA[" + String(repeating: "z", count: 200) + "]]></b></m>"
        let afterCDATA = try StreamParser(limits: limits).feed(header + cdata + ok)
        #expect(afterCDATA.count == 3 && dropped(afterCDATA[1]) != nil && afterCDATA[2] == okEvent)
    }

    @Test func parser__dropsTextBeyondStanzaCap__evenWhenFedInSmallChunks() throws {
        let parser = StreamParser()
        var events = try parser.feed(header + "<message><body>")
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 64 * 1024)
        for _ in 0..<40 { events += try parser.feed(chunk) }
        events += try parser.feed("</body></message>" + ok)
        #expect(events.count == 3 && dropped(events[1]) != nil && events[2] == okEvent)
    }

    @Test func parser__dropsUnclosedStartTag__beyondStanzaCap_andEndsTheStreamAtTheHardCap() {
        let limits = StreamParser.Limits(maxStanzaBytes: 4096, maxSkipBytes: 8192)
        let parser = StreamParser(limits: limits)
        #expect((try? parser.feed(header + "<message to='" + String(repeating: "a", count: 6000))) == [expectedEvents[0]])
        #expect(isPolicy(failure(header + "<message to='" + String(repeating: "a", count: 10_000), limits: limits)))
    }

    @Test func parser__rejectsEndlessComment__beyondStanzaCap() {
        // libxml2 buffers until "-->" before reporting the comment: between stanzas it is the server's doing.
        let limits = StreamParser.Limits(maxStanzaBytes: 4096)
        #expect(isPolicy(failure(header + "<!--" + String(repeating: "a", count: 10_000), limits: limits)))
    }

    @Test func parser__rejectsOversizedHeader__asPolicyViolation() {
        let long = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='" + String(repeating: "i", count: 70_000) + "'>"
        #expect(isPolicy(failure(long)))
        let many = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' " + (0..<65).map { "a\($0)='v'" }.joined(separator: " ") + ">"
        #expect(isPolicy(failure(many)))
    }

    @Test func parser__stanzaCapIsPerStanza__notPerStream() throws {
        let limits = StreamParser.Limits(maxStanzaBytes: 1000)
        let stanza = "<message><body>" + String(repeating: "y", count: 900) + "</body></message>"
        let parser = StreamParser(limits: limits)
        _ = try parser.feed(header)
        var count = 0
        for _ in 0..<20 { count += try parser.feed(stanza + "  ").count }
        #expect(count == 20)
        // One long burst containing many stanzas is fine too.
        count = try parser.feed(String(repeating: stanza, count: 20)).count
        #expect(count == 20)
        let over = "<message><body>" + String(repeating: "y", count: 1000) + "</body></message>"
        let events = try StreamParser(limits: limits).feed(header + over + ok)
        #expect(dropped(events[1])?.reason == "stanza exceeds 1000 bytes" && events[2] == okEvent)
    }

    @Test func parser__stanzaOfExactlyTheCap__isKept_oneByteMoreIsDropped() throws {
        let body = "<message><body>" + String(repeating: "y", count: 100) + "</body></message>"
        let exact = StreamParser.Limits(maxStanzaBytes: body.utf8.count)
        #expect(try StreamParser(limits: exact).feed(header + body).count == 2)
        let events = try StreamParser(limits: .init(maxStanzaBytes: body.utf8.count - 1)).feed(header + body)
        #expect(events.count == 2 && dropped(events[1]) != nil)
    }

    @Test func parser__dropsTooManyAttributes__andAcceptsTheLimit() throws {
        func attrs(_ n: Int) -> String { (0..<n).map { "a\($0)='v'" }.joined(separator: " ") }
        #expect(try StreamParser().feed(header + "<message \(attrs(64))/>").count == 2)
        let onStanza = try StreamParser().feed(header + "<message \(attrs(65))/>" + ok)
        #expect(dropped(onStanza[1]) == DroppedStanza(name: "message", partial: nil, reason: "an element has more than 64 attributes"))
        #expect(onStanza[2] == okEvent)
        let onChild = try StreamParser().feed(header + "<message id='m1'><x \(attrs(1000))/></message>" + ok)
        #expect(dropped(onChild[1])?.partial == Element("message", namespace: NS.client, attributes: ["id": "m1"]))
        #expect(onChild[2] == okEvent)
    }

    /// libxml2 2.9 checks duplicate attributes pairwise: 100k of them would cost seconds,
    /// so the lexer must count them before libxml2 sees the tag, whatever came before.
    @Test func parser__dropsAttributeFlood__beforeLibxml2SeesIt() throws {
        let flood = "<message " + (0..<100_000).map { "a\($0)=''" }.joined(separator: " ") + "/>"
        #expect(dropped(try StreamParser().feed(header + flood)[1]) != nil)
        // A '>' inside each quoted value must not hide the flood.
        let disguised = "<message " + (0..<100_000).map { "a\($0)='>'" }.joined(separator: " ") + "/>"
        #expect(dropped(try StreamParser().feed(header + disguised)[1]) != nil)
        // Nor may a quote inside CDATA shift what counts as inside a tag.
        let afterCDATA = "<message><body><![CDATA[don't]]></body><x " + (0..<100_000).map { "a\($0)='v'" }.joined(separator: " ") + "/></message>"
        #expect(dropped(try StreamParser().feed(header + afterCDATA)[1]) != nil)
        // Nor a '>' and a quote inside CDATA (the pre-scan once skipped "<!" to the first '>').
        let bypass = "<message><body><![CDATA[>< \"]]></body></message><message><x " + (0..<100_000).map { "a\($0)=''" }.joined(separator: " ") + "/></message>"
        let events = try StreamParser().feed(header + bypass + ok)
        #expect(events.count == 4)
        #expect(events[1] == .element(Element("message", namespace: NS.client, elements: [
            Element("body", namespace: NS.client, elements: [], text: ">< \""),
        ])))
        #expect(dropped(events[2]) != nil && events[3] == okEvent)
    }

    /// A long run of '=' in a body is text, not attributes: a peer must not be able to
    /// get its message dropped by it.
    @Test func parser__allowsLongRunsOfEqualsSigns__inTextAcrossChunks() throws {
        let body = String(repeating: "=", count: 40_000)
        let input = Array((header + "<message><body>\(body)</body></message>").utf8)
        let expected = StreamEvent.element(Element("message", namespace: NS.client, elements: [Element("body", namespace: NS.client, elements: [], text: body)]))
        #expect(try parseAll([input[...]]).last == expected)
        let chunks = stride(from: 0, to: input.count, by: 4096).map { input[$0..<min($0 + 4096, input.count)] }
        #expect(try parseAll(chunks).last == expected)
    }

    @Test func parser__allowsManyEqualsSigns__inOrdinaryText() throws {
        let body = String(repeating: "a=b ", count: 2000)
        let events = try StreamParser().feed(header + "<message><body>\(body)</body></message>")
        #expect(events.last == .element(Element("message", namespace: NS.client, elements: [Element("body", namespace: NS.client, elements: [], text: body)])))
    }

    /// Every poison shape between two good stanzas, split at every byte: the same three events.
    @Test func parser__dropsEachPoisonShape__identicallyForEveryTwoChunkSplit() throws {
        let limits = StreamParser.Limits(maxDepth: 8, maxStanzaBytes: 600, maxAttributes: 4, maxTextBytes: 200)
        let shapes = [
            "<message from='p@x' id='a'><x a='1' b='2' c='3' d='4' e='5'/></message>",
            "<message from='p@x' a='1' b='2' c='3' d='4' e='5'/>",
            "<message from='p@x'>" + String(repeating: "<a>", count: 9) + String(repeating: "</a>", count: 9) + "</message>",
            "<message from='p@x'><body>" + String(repeating: "t", count: 201) + "</body></message>",
            "<message from='p@x'><body><![CDATA[" + String(repeating: "]>", count: 120) + "]]></body></message>",
            "<message from='p@x'>" + String(repeating: "<a b='&gt;'/>", count: 60) + "</message>",
            "<message from='p@x'><x y=\"it's\"/><x/>" + String(repeating: "<a/>", count: 200) + "</message>",
        ]
        let before = "<presence from='a@x'/>"
        for shape in shapes {
            let bytes = Array((header + before + shape + ok + "</stream:stream>").utf8)
            let whole = try parseAll([bytes[...]], limits: limits)
            #expect(whole.count == 5, "\(shape): \(whole)")
            #expect(whole[1] == .element(Element("presence", namespace: NS.client, attributes: ["from": "a@x"])))
            #expect(dropped(whole[2]) != nil, "\(shape)")
            #expect(whole[3] == okEvent && whole[4] == .streamClosed)
            for cut in 0...bytes.count {
                let events = try parseAll([bytes[..<cut], bytes[cut...]], limits: limits)
                #expect(events == whole, "\(shape) split at byte \(cut)")
                if events != whole { break }
            }
            #expect(try parseAll(bytes.indices.map { bytes[$0...$0] }, limits: limits) == whole, "\(shape) byte by byte")
        }
    }

    @Test func parser__keepsTheStreamsNamespaces__afterADrop() throws {
        let limits = StreamParser.Limits(maxAttributes: 2)
        let events = try StreamParser(limits: limits).feed(
            header + "<message a='1' b='2' c='3'/><stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>"
                + "<message xml:lang='de'/>")
        #expect(events.dropFirst().count == 3)
        #expect(events[2] == .element(Element("features", namespace: NS.stream, elements: [Element("bind", namespace: NS.bind)])))
        #expect(events[3] == .element(Element("message", namespace: NS.client, attributes: ["xml:lang": "de"])))
    }

    @Test func parser__keepsEnforcingWellFormedness__afterADrop() {
        let limits = StreamParser.Limits(maxAttributes: 2)
        #expect(isNotWellFormed(failure(header + "<message a='1' b='2' c='3'/><message></presence>", limits: limits)))
        #expect(isRestricted(failure(header + "<message a='1' b='2' c='3'/><message><!-- x --></message>", limits: limits)))
    }

    /// The part read before the limit tells who sent an archived message.
    @Test func parser__dropReport__carriesWhatWasReadBeforeTheLimit() throws {
        let poison = "<message to='me@x' from='me@x'><result xmlns='urn:xmpp:mam:2' queryid='q' id='r1'>"
            + "<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='mallory@evil/r' type='chat'><body>hi</body>"
            + String(repeating: "<a>", count: 80) + String(repeating: "</a>", count: 80)
            + "</message></forwarded></result></message>"
        let events = try StreamParser().feed(header + poison + ok)
        guard let report = dropped(events[1]), let partial = report.partial else {
            Issue.record("expected a drop, got \(events)")
            return
        }
        let inner = partial.child("result", namespace: NS.mam)?.child("forwarded", namespace: NS.forward)?.child("message", namespace: NS.client)
        #expect(partial.child("result", namespace: NS.mam)?["id"] == "r1")
        #expect(inner?["from"] == "mallory@evil/r")
        #expect(inner?.child("body", namespace: NS.client)?.text == "hi")
        #expect(report.isStanza)
        #expect(events[2] == okEvent)
    }

    // MARK: findings of the fuzzer (Fuzz/regressions): the same outcome however the stream is cut

    /// Every two-chunk cut, and byte by byte.
    private func everyCut(_ bytes: [UInt8]) -> [[Int]] {
        (0...bytes.count).map { [$0] } + [Array(0...bytes.count)]
    }

    /// libxml2's push parser guesses from the bytes it has whether a tag is complete; a quote
    /// made it parse `<u'>` as a finished tag when fed whole, and wait when cut. Unfinished
    /// markup must reach it only whole.
    @Test func parser__sameOutcome__whereverUnfinishedMarkupIsCut() {
        for tail in ["<u'>", "<message><x a='>' b", "<message a=\"'>\"", "<message><![CDATA[<x '>"] {
            let bytes = Array((header + tail).utf8)
            #expect(StreamParserOracle.violation(bytes, limits: .init(), chunkings: everyCut(bytes)) == nil, "\(tail)")
            #expect(failure(header + tail) == nil, "\(tail)")
        }
    }

    /// libxml2 names a bad byte differently when fewer than four bytes follow it in its buffer.
    @Test func parser__reportsBytesThatAreNotUTF8__alikeWhateverFollowsThem() {
        let bytes = Array(header.utf8) + [0x3E, 0x3C, 0xFF, 0x3E, 0x3C, 0xFF]
        #expect(StreamParserOracle.violation(bytes, limits: .init(), chunkings: everyCut(bytes)) == nil)
        var error: XMLStreamError?
        do { _ = try StreamParser().feed(bytes) } catch let e { error = e }
        #expect(error == .notWellFormed("byte \(header.utf8.count + 2) of the stream is not an XML character in UTF-8"))
    }

    /// libxml2 may take a NUL for the end of its input and wait, or report it, depending on
    /// where the chunk ends. No C0 control but TAB, LF and CR is an XML character.
    @Test func parser__rejectsNULAndC0Controls__alikeWhereverTheStreamIsCut() {
        for raw: [UInt8] in [[0x00], [0x00, 0x00], [0x10, 0x00], [0x16]] {
            let bytes = Array((header + "<enabled xm").utf8) + raw + Array("lns='urn:xmpp:sm:3'/><r/>".utf8)
            #expect(StreamParserOracle.violation(bytes, limits: .init(), chunkings: everyCut(bytes)) == nil, "\(raw)")
            var error: XMLStreamError?
            do { _ = try StreamParser().feed(bytes) } catch let e { error = e }
            #expect(isNotWellFormed(error), "\(raw)")
        }
    }

    /// Bytes that are not XML end the stream even inside a stanza that is being skipped.
    @Test func parser__endsTheStream__onBytesThatAreNotXMLInADroppedStanza() {
        let limits = StreamParser.Limits(maxAttributes: 2)
        for bad: [UInt8] in [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xEF, 0xBF, 0xBE], [0x00], [0x1B]] {
            let input = Array((header + "<message a='1' b='2' c='3'><body>").utf8) + bad + Array("</body></message>".utf8)
            var error: XMLStreamError?
            do { _ = try StreamParser(limits: limits).feed(input) } catch let e { error = e }
            #expect(isNotWellFormed(error), "\(bad)")
        }
    }

    /// A fault the lexer finds (here: a comment between stanzas over the cap) comes after
    /// libxml2's verdict on the bytes before it, as it does when those came in an earlier chunk.
    @Test func parser__reportsLibxml2sEarlierError__beforeALaterCapFault() {
        let limits = StreamParser.Limits(maxStanzaBytes: 100)
        let bytes = Array((header + "<message>&#0;</message><!--" + String(repeating: "a", count: 200)).utf8)
        #expect(StreamParserOracle.violation(bytes, limits: limits, chunkings: everyCut(bytes)) == nil)
        #expect(isNotWellFormed(failure(String(decoding: bytes, as: UTF8.self), limits: limits)))
    }

    /// Where the lexer and libxml2 could disagree on where markup ends, the lexer refuses it:
    /// quotes or '<' in an end tag, '<' in a tag or an attribute value, a quote in a name, and
    /// a "<!" that is not a whole "<![CDATA[" or "<!--" (libxml2 judges those by how many
    /// bytes it has).
    @Test func parser__refusesMarkupWhoseEndLibxml2CouldMisjudge__alikeWhereverTheStreamIsCut() {
        let shapes = [
            "</messagee='x' id='a>b'><er:client x='y'/>", "<iq/></a '>'>", "<message><x a='<'/></message><r/>",
            "<message a='1' <b/>", "<a'b/><r x='>'/>", "<message><!x></message><r/>", "<!DOCTYPE x SYSTEM 'a>b'><r/>",
            "<message><![CDAT></message><r/>", "<u'><",
        ]
        for shape in shapes {
            let bytes = Array((header + shape).utf8)
            #expect(StreamParserOracle.violation(bytes, limits: .init(), chunkings: everyCut(bytes)) == nil, "\(shape)")
            #expect(failure(header + shape) != nil, "\(shape)")
        }
        #expect(isRestricted(failure(header + "<message><!x></message>")))
    }

    /// After `</stream:stream>` no markup may follow. The lexer took a tag there over the
    /// attribute limit for a stanza to drop, and the drop restarted libxml2 on the saved header
    /// as if the stream were still open.
    @Test func parser__endsTheStream__onMarkupAfterItsEnd() {
        let limits = StreamParser.Limits(maxAttributes: 2)
        for tail in ["<a b='1' c='2' d='3'/><message/>", "<message/>", "</x>"] {
            let bytes = Array((header + "<presence/></stream:stream>" + tail).utf8)
            #expect(StreamParserOracle.violation(bytes, limits: limits, chunkings: everyCut(bytes)) == nil, "\(tail)")
            #expect(isNotWellFormed(failure(header + "<presence/></stream:stream>" + tail, limits: limits)), "\(tail)")
        }
        #expect(failure(header + "<presence/></stream:stream> \n", limits: limits) == nil)
    }

    /// libxml2 parses a run of text before the '<' after it arrives only once it has 300 bytes
    /// of it, so a bad reference in the run was found, or not, before a later fault depending
    /// on the cuts. Text is held with what follows until markup ends.
    @Test func parser__sameVerdict__onALongTextRunWhereverItIsCut() {
        for text in [String(repeating: "t", count: 400) + "&#xD800;", String(repeating: "t", count: 290) + "&#xD800;" + String(repeating: "u", count: 20)] {
            for (inside, close) in [("<message/>", ""), ("<message><body>", "</body></message>")] {
                let bytes = Array((header + inside + text + "</x<" + close).utf8)
                #expect(StreamParserOracle.violation(bytes, limits: .init(), chunkings: everyCut(bytes)) == nil, "\(inside)")
            }
        }
    }

    /// Held text between stanzas is capped like a stanza, and whitespace keepalives are held
    /// until the next stanza without a cost to it.
    @Test func parser__capsTextBetweenStanzas__likeAStanza() throws {
        let limits = StreamParser.Limits(maxStanzaBytes: 100)
        #expect(isPolicy(failure(header + "<presence/>" + String(repeating: " ", count: 101), limits: limits)))
        let parser = StreamParser(limits: limits)
        _ = try parser.feed(header)
        for _ in 0..<99 { #expect(try parser.feed(" ").isEmpty) }
        #expect(try parser.feed("<presence/>") == [.element(Element("presence", namespace: NS.client))])
        for _ in 0..<99 { #expect(try parser.feed(" ").isEmpty) }
    }

    /// libxml2 hands a namespace over as written in its xmlns value, '&' as "&#38;".
    @Test func parser__decodesAmpersandInNamespaces() throws {
        let events = try StreamParser().feed(header + "<message xmlns='urn:a&amp;b'><x xmlns='urn:&#38;'/></message>")
        #expect(events.last == .element(Element("message", namespace: "urn:a&b", elements: [Element("x", namespace: "urn:&")])))
    }

    // MARK: not well-formed

    @Test func parser__rejectsMismatchedTags__asNotWellFormed() {
        #expect(isNotWellFormed(failure(header + "<message><body></message>")))
    }

    @Test func parser__rejectsBadUTF8__asNotWellFormed() {
        for bad: [UInt8] in [[0xFF], [0xC0, 0x80], [0xE2, 0x82], [0xED, 0xA0, 0x80]] {
            let input = Array((header + "<message><body>").utf8) + bad + Array("</body></message>".utf8)
            var error: XMLStreamError?
            do { _ = try StreamParser().feed(input) } catch let e { error = e }
            #expect(isNotWellFormed(error), "bytes \(bad)")
        }
    }

    @Test func parser__rejectsUnboundPrefixAndDuplicateAttributes__asNotWellFormed() {
        #expect(isNotWellFormed(failure(header + "<p:message/>")))
        #expect(isNotWellFormed(failure(header + "<message id='1' id='2'/>")))
    }

    @Test func parser__rejectsWrongRootElement__asNotWellFormed() {
        #expect(isNotWellFormed(failure("<?xml version='1.0'?><html/>")))
        #expect(isNotWellFormed(failure("<stream:stream xmlns:stream='urn:wrong'>")))
    }

    @Test func parser__rejectsNonUTF8Encodings__asNotWellFormed() {
        var error: XMLStreamError?
        do { _ = try StreamParser().feed([0xFF, 0xFE, 0x3C, 0x00]) } catch let e { error = e }
        #expect(isNotWellFormed(error))
    }

    @Test func parser__rejectsSecondHeader__withoutReset() {
        #expect(isNotWellFormed(failure(header + header)))
    }

    @Test func parser__staysFailed__afterFirstError() {
        let parser = StreamParser()
        var first: XMLStreamError?
        do { _ = try parser.feed(header + "<a><!-- x --></a>") } catch { first = error }
        #expect(isRestricted(first))
        var second: XMLStreamError?
        do { _ = try parser.feed("<message/>") } catch { second = error }
        #expect(second == first)
    }

    @Test func parser__keepsWhatCameBeforeAnError__whenAskedTo() {
        // <proceed/> with a second, illegal XML declaration injected behind it in the same read.
        let parser = StreamParser()
        let bytes = Array((header + "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><?xml version='1.0'?><x>").utf8)
        let (events, error) = bytes.withUnsafeBytes { parser.feedKeepingCompleted($0) }
        #expect(events.count == 2)
        #expect(events.last == .element(Element("proceed", namespace: NS.tls)))
        #expect(isNotWellFormed(error))
    }

    @Test func parser__errorConditions__matchRFC6120Names() {
        #expect(XMLStreamError.notWellFormed("x").condition == "not-well-formed")
        #expect(XMLStreamError.restrictedXML("x").condition == "restricted-xml")
        #expect(XMLStreamError.policyViolation("x").condition == "policy-violation")
    }

    // MARK: attributes and the stanza tape

    @Test func attributes__equalAndHashEqual__whateverTheirOrder() {
        let a = Element("m", namespace: NS.client, attributes: ["to": "x", "id": "1", "type": "chat"])
        let b = Element("m", namespace: NS.client, attributes: ["type": "chat", "to": "x", "id": "1"])
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a != Element("m", namespace: NS.client, attributes: ["type": "chat", "to": "x", "id": "2"]))
        #expect(Array(a.attributes.keys) == ["id", "to", "type"])
        #expect(a.attributes.count == 3 && a["type"] == "chat" && a["from"] == nil)
    }

    @Test func attributes__lastValueWins__whenANameRepeats() {
        let literal: Element.Attributes = ["a": "1", "b": "2", "a": "3"]
        #expect(literal == ["a": "3", "b": "2"])
        #expect(literal.count == 2)
        // More than the insertion-sort path handles, with every name twice.
        let many = Element.Attributes(unsorted: (0..<40).map { .init(key: "k\($0 % 20)", value: "v\($0)") })
        #expect(many.count == 20 && many["k7"] == "v27" && many["k19"] == "v39")
        #expect(many.dictionary == Dictionary(uniqueKeysWithValues: (20..<40).map { ("k\($0 % 20)", "v\($0)") }))
    }

    @Test func parser__yieldsSameElement__whateverTheAttributeOrderOnTheWire() throws {
        let parser = StreamParser()
        _ = try parser.feed(header)
        let events = try parser.feed(
            "<message type='chat' xml:lang='de' to='a@b' id='1'/><message id='1' to='a@b' xml:lang='de' type='chat'/>")
        let expected = Element("message", namespace: NS.client, attributes: ["id": "1", "to": "a@b", "type": "chat", "xml:lang": "de"])
        #expect(events == [.element(expected), .element(expected)])
        #expect(try XMLSerializer.serialize(expected) == "<message id='1' to='a@b' type='chat' xml:lang='de'/>")
    }

    @Test func parser__keepsEveryAttribute__beyondTheSmallSortPath() throws {
        let names = (0..<40).map { "a\(39 - $0)" }
        let tag = "<x " + names.map { "\($0)='v-\($0)'" }.joined(separator: " ") + "/>"
        let events = try StreamParser(limits: .init(maxAttributes: 40)).feed(header + "<message>" + tag + "</message>")
        guard events.count == 2, case .element(let message) = events[1], let x = message.child("x") else {
            Issue.record("expected a message with <x/>, got \(events)")
            return
        }
        #expect(x.attributes.count == 40)
        #expect(names.allSatisfy { x[$0] == "v-\($0)" })
        #expect(Array(x.attributes.keys) == names.sorted())
    }

    @Test func parser__doesNotConfuseRepeatedAttributeValues__acrossStanzas() throws {
        // Values are cached per attribute name; each must still be its own.
        let parser = StreamParser()
        _ = try parser.feed(header)
        let events = try parser.feed(
            "<message to='alice@example.org' id='abc'/><message to='alice@example.org' id='abd'/>"
                + "<message to='alice@example.orh' id='abd'/><message to='' id='abd&amp;'/>")
        let ids = events.compactMap { if case .element(let e) = $0 { e["id"] } else { nil } }
        let tos = events.compactMap { if case .element(let e) = $0 { e["to"] } else { nil } }
        #expect(ids == ["abc", "abd", "abd", "abd&"])
        #expect(tos == ["alice@example.org", "alice@example.org", "alice@example.orh", ""])
    }

    @Test func parser__buildsNestedChildrenAndTextRuns__whenChunkedMidText() throws {
        let stanza = "<iq type='result' id='r'><query xmlns='jabber:iq:roster'>a<item jid='x@y'><group>G&amp;1</group></item>"
            + "b<item jid='z@y'/>c&lt;</query></iq>"
        let expected = Element("iq", namespace: NS.client, attributes: ["type": "result", "id": "r"], elements: [
            Element("query", namespace: NS.roster, children: [
                .text("a"),
                .element(Element("item", namespace: NS.roster, attributes: ["jid": "x@y"], elements: [
                    Element("group", namespace: NS.roster, elements: [], text: "G&1"),
                ])),
                .text("b"),
                .element(Element("item", namespace: NS.roster, attributes: ["jid": "z@y"])),
                .text("c<"),
            ]),
        ])
        let bytes = Array((header + stanza + stanza).utf8)
        for size in [1, 3, 7, 64] {
            let chunks = stride(from: 0, to: bytes.count, by: size).map { bytes[$0..<min($0 + size, bytes.count)] }
            #expect(try parseAll(chunks) == [expectedEvents[0], .element(expected), .element(expected)], "chunk size \(size)")
        }
    }

    // MARK: restart

    @Test func parser__acceptsNewHeader__afterReset() throws {
        let parser = StreamParser()
        _ = try parser.feed(header + "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        parser.reset()
        #expect(try parser.feed(header + "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>") == [
            expectedEvents[0], .element(Element("success", namespace: NS.sasl)),
        ])
    }

    @Test func parser__recoversFromError__onlyThroughReset() throws {
        let parser = StreamParser()
        #expect(throws: XMLStreamError.self) { try parser.feed(header + "<a></b>") }
        parser.reset()
        #expect(try parser.feed(header) == [expectedEvents[0]])
    }
}
