import Testing
@testable import XMPP

/// XEP-0280 §6–§7 and §11: which wrapped messages count as copies of our account's traffic.
@Suite struct CarbonsTests {
    let me = try! JID("romeo@montague.example/garden")

    /// A `<received/>` or `<sent/>` copy as the XEP's examples show it, with attributes to vary.
    func wrapped(
        _ kind: String, from: String? = "romeo@montague.example", type: String = "chat",
        inner: String = "<message xmlns='jabber:client' from='juliet@capulet.example/balcony' to='romeo@montague.example/home' type='chat'><body>hi</body></message>"
    ) throws -> Element {
        let fromAttribute = from.map { " from='\($0)'" } ?? ""
        return try parseElement(
            "<message\(fromAttribute) to='romeo@montague.example/garden' type='\(type)'>"
                + "<\(kind) xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>\(inner)</forwarded></\(kind)>"
                + "</message>")
    }

    let sentInner = "<message xmlns='jabber:client' from='romeo@montague.example/home' to='juliet@capulet.example/balcony' type='chat'><body>reply</body></message>"

    @Test func enable_request__is_an_iq_set_with_enable_and_no_to() throws {
        let iq = try wire(Carbons.enableRequest(id: "e1"))
        #expect(iq.name == "iq")
        #expect(iq["type"] == "set")
        #expect(iq["id"] == "e1")
        #expect(iq["to"] == nil)
        #expect(iq.elements.count == 1)
        #expect(iq.child("enable", namespace: "urn:xmpp:carbons:2") != nil)
    }

    @Test func is_offered__reads_the_server_feature_list() throws {
        let with = try parseElement(
            "<query xmlns='http://jabber.org/protocol/disco#info'><identity category='server' type='im'/>"
                + "<feature var='urn:xmpp:ping'/><feature var='urn:xmpp:carbons:2'/></query>")
        let oldVersionOnly = try parseElement(
            "<query xmlns='http://jabber.org/protocol/disco#info'><feature var='urn:xmpp:carbons:1'/></query>")
        #expect(Carbons.isOffered(byServerInfo: with))
        #expect(!Carbons.isOffered(byServerInfo: oldVersionOnly))
    }

    @Test func copy__received_from_our_bare_jid__yields_the_forwarded_message() throws {
        let verdict = Carbons.copy(in: try wrapped("received"), ourJID: me)
        guard case .copy(.received(let original)) = verdict else {
            Issue.record("expected a received copy, got \(verdict)")
            return
        }
        #expect(original["from"] == "juliet@capulet.example/balcony")
        #expect(original.childText("body", namespace: NS.client) == "hi")
    }

    @Test func copy__sent_from_our_bare_jid__yields_the_forwarded_message() throws {
        let verdict = Carbons.copy(in: try wrapped("sent", inner: sentInner), ourJID: me)
        guard case .copy(.sent(let original)) = verdict else {
            Issue.record("expected a sent copy, got \(verdict)")
            return
        }
        #expect(original["to"] == "juliet@capulet.example/balcony")
        #expect(Carbons.Copy.sent(original).message == original)
    }

    @Test func copy__from_anyone_but_our_bare_jid__is_forged() throws {
        let senders: [String?] = [
            "juliet@capulet.example",  // another account (CVE-2017-5589)
            "juliet@capulet.example/balcony",
            "romeo@montague.example/home",  // our own full JID: copies come from the bare JID only
            "romeo@montague.example/garden",
            "montague.example",  // the server's domain
            "romeo@montague.example.evil",
            "not a jid@@",
            nil,
        ]
        for sender in senders {
            for kind in ["received", "sent"] {
                #expect(Carbons.copy(in: try wrapped(kind, from: sender), ourJID: me) == .forged, "\(kind) from \(sender ?? "nobody")")
            }
        }
    }

    @Test func copy__bare_jid_compares_after_preparation() throws {
        // RFC 7622 case-maps localpart and domain: this is still our account.
        let verdict = Carbons.copy(in: try wrapped("received", from: "Romeo@Montague.Example"), ourJID: me)
        #expect({ if case .copy(.received) = verdict { true } else { false } }(), "\(verdict)")
    }

    @Test func copy__wrapped_in_a_groupchat_message__is_forged_even_from_us() throws {
        #expect(Carbons.copy(in: try wrapped("sent", type: "groupchat", inner: sentInner), ourJID: me) == .forged)
        #expect(Carbons.copy(in: try wrapped("received", from: "room@conference.example/romeo", type: "groupchat"), ourJID: me) == .forged)
    }

    @Test func copy__with_a_groupchat_original__is_ignored() throws {
        let roomMessage = "<message xmlns='jabber:client' from='room@conference.example/juliet' to='romeo@montague.example/home' type='groupchat'><body>all</body></message>"
        #expect(Carbons.copy(in: try wrapped("received", inner: roomMessage), ourJID: me) == .ignored)
    }

    @Test func copy__without_a_forwarded_message__is_ignored() throws {
        let empty = try parseElement(
            "<message from='romeo@montague.example' type='chat'><received xmlns='urn:xmpp:carbons:2'/></message>")
        let forwardedEmpty = try wrapped("received", inner: "")
        let wrongNamespace = try parseElement(
            "<message from='romeo@montague.example' type='chat'><sent xmlns='urn:xmpp:carbons:2'>"
                + "<message xmlns='jabber:client' to='juliet@capulet.example'><body>x</body></message></sent></message>")
        let twoMessages = try wrapped("sent", inner: sentInner + sentInner)
        let both = try parseElement(
            "<message from='romeo@montague.example' type='chat'>"
                + "<sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>\(sentInner)</forwarded></sent>"
                + "<received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>\(sentInner)</forwarded></received>"
                + "</message>")
        for stanza in [empty, forwardedEmpty, wrongNamespace, twoMessages, both] {
            #expect(Carbons.copy(in: stanza, ourJID: me) == .ignored, "\(stanza)")
        }
    }

    @Test func copy__about_another_account__is_ignored() throws {
        // A received copy of a message to someone else, or a sent copy written by someone else.
        let toOther = "<message xmlns='jabber:client' from='juliet@capulet.example/b' to='tybalt@capulet.example' type='chat'><body>x</body></message>"
        let byOther = "<message xmlns='jabber:client' from='tybalt@capulet.example/a' to='juliet@capulet.example' type='chat'><body>x</body></message>"
        let noRecipient = "<message xmlns='jabber:client' from='romeo@montague.example/home' type='chat'><body>x</body></message>"
        #expect(Carbons.copy(in: try wrapped("received", inner: toOther), ourJID: me) == .ignored)
        #expect(Carbons.copy(in: try wrapped("sent", inner: byOther), ourJID: me) == .ignored)
        #expect(Carbons.copy(in: try wrapped("sent", inner: noRecipient), ourJID: me) == .ignored)
    }

    @Test func copy__ordinary_and_private_messages__are_not_carbons() throws {
        let plain = try parseElement(
            "<message from='juliet@capulet.example/balcony' type='chat'><body>hi</body></message>")
        // §8: <private/> asks the server not to copy; the message itself is ordinary.
        let privateOne = try parseElement(
            "<message from='juliet@capulet.example/balcony' type='chat'><body>hi</body><private xmlns='urn:xmpp:carbons:2'/></message>")
        let otherNamespace = try parseElement(
            "<message from='romeo@montague.example' type='chat'><received xmlns='urn:xmpp:receipts' id='x'/></message>")
        let presence = try parseElement(
            "<presence from='juliet@capulet.example'><sent xmlns='urn:xmpp:carbons:2'/></presence>")
        for stanza in [plain, privateOne, otherNamespace, presence] {
            #expect(Carbons.copy(in: stanza, ourJID: me) == .notACarbon, "\(stanza)")
        }
    }
}
