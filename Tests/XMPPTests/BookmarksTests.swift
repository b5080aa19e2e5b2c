/// XEP-0402 PEP Native Bookmarks: publish, retract, fetch, parse, and trusting notifications.
import Testing
@testable import XMPP

@Suite struct BookmarksTests {
    let me = try! JID("juliet@capulet.lit/balcony")
    let play = try! JID("theplay@conference.shakespeare.lit")

    /// `<value/>`s of each field of a submitted form.
    private func formValues(_ form: Element) -> [String: [String]] {
        var values: [String: [String]] = [:]
        for field in form.children("field", namespace: NS.dataForms) {
            if let variable = field["var"] { values[variable] = field.children("value", namespace: NS.dataForms).map(\.text) }
        }
        return values
    }

    private func event(from: String?, items: String, node: String = "urn:xmpp:bookmarks:1") throws -> Element {
        let fromAttribute = from.map { " from='\($0)'" } ?? ""
        return try parseElement(
            "<message\(fromAttribute) to='juliet@capulet.lit/balcony' type='headline' id='new-room1'>"
                + "<event xmlns='http://jabber.org/protocol/pubsub#event'><items node='\(node)'>\(items)</items></event></message>")
    }

    private let publishedItem = """
        <item id='theplay@conference.shakespeare.lit'>\
        <conference xmlns='urn:xmpp:bookmarks:1' name='The Play&apos;s the Thing' autojoin='true'><nick>JC</nick></conference>\
        </item>
        """

    @Test func publish__item_id_is_the_room_and_options_are_private() throws {
        let bookmark = Bookmarks.Bookmark(
            room: try JID("theplay@conference.shakespeare.lit/JC"), name: "The Play's the Thing",
            autojoin: true, nick: "JC", password: "secret")
        let iq = try wire(Bookmarks.publishRequest(bookmark, id: "pip1"))
        #expect(iq["type"] == "set")
        #expect(iq["to"] == nil)
        let pubsub = try #require(iq.child("pubsub", namespace: NS.pubsub))
        let publish = try #require(pubsub.child("publish", namespace: NS.pubsub))
        #expect(publish["node"] == "urn:xmpp:bookmarks:1")
        let item = try #require(publish.child("item", namespace: NS.pubsub))
        #expect(item["id"] == "theplay@conference.shakespeare.lit")
        let conference = try #require(item.child("conference", namespace: NS.bookmarks))
        #expect(conference["name"] == "The Play's the Thing")
        #expect(conference["autojoin"] == "true")
        #expect(conference.childText("nick", namespace: NS.bookmarks) == "JC")
        #expect(conference.childText("password", namespace: NS.bookmarks) == "secret")

        let form = try #require(pubsub.child("publish-options", namespace: NS.pubsub)?.child("x", namespace: NS.dataForms))
        #expect(form["type"] == "submit")
        let formType = try #require(form.children("field", namespace: NS.dataForms).first)
        #expect(formType["var"] == "FORM_TYPE")
        #expect(formType["type"] == "hidden")
        #expect(formValues(form) == [
            "FORM_TYPE": ["http://jabber.org/protocol/pubsub#publish-options"],
            "pubsub#persist_items": ["true"],
            "pubsub#max_items": ["max"],
            "pubsub#send_last_published_item": ["never"],
            "pubsub#access_model": ["whitelist"],
        ])
    }

    @Test func publish__minimal_bookmark_has_autojoin_false_and_no_children() throws {
        let iq = try wire(Bookmarks.publishRequest(Bookmarks.Bookmark(room: play), id: "p2"))
        let conference = try #require(iq.child("pubsub", namespace: NS.pubsub)?.child("publish", namespace: NS.pubsub)?
            .child("item", namespace: NS.pubsub)?.child("conference", namespace: NS.bookmarks))
        #expect(conference["autojoin"] == "false")
        #expect(conference["name"] == nil)
        #expect(conference.elements.isEmpty)
    }

    @Test func retract__notifies_and_names_the_room() throws {
        let iq = try wire(Bookmarks.retractRequest(room: play, id: "r1"))
        #expect(iq["type"] == "set")
        let retract = try #require(iq.child("pubsub", namespace: NS.pubsub)?.child("retract", namespace: NS.pubsub))
        #expect(retract["node"] == "urn:xmpp:bookmarks:1")
        #expect(retract["notify"] == "true")
        #expect(retract.child("item", namespace: NS.pubsub)?["id"] == "theplay@conference.shakespeare.lit")
    }

    @Test func fetch__items_of_our_own_pep_node() throws {
        let xml = try XMLSerializer.serialize(Bookmarks.fetchRequest(id: "f1"))
        #expect(xml == "<iq id='f1' type='get'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
            + "<items node='urn:xmpp:bookmarks:1'/></pubsub></iq>")
    }

    @Test func fetch_result__parses_items_and_skips_malformed_ones() throws {
        let iq = try parseElement("""
            <iq type='result' to='juliet@capulet.lit/balcony' id='f1'>\
            <pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:bookmarks:1'>\
            \(publishedItem)\
            <item id='orchard@conference.shakespeare.lit'><conference xmlns='urn:xmpp:bookmarks:1' autojoin='1'>\
            <password>pw</password><extensions><state xmlns='urn:example:x'/></extensions></conference></item>\
            <item id='minimal@conference.shakespeare.lit'><conference xmlns='urn:xmpp:bookmarks:1'/></item>\
            <item id='not a jid@@'><conference xmlns='urn:xmpp:bookmarks:1'/></item>\
            <item id='full@conference.shakespeare.lit/nick'><conference xmlns='urn:xmpp:bookmarks:1'/></item>\
            <item id='conference.shakespeare.lit'><conference xmlns='urn:xmpp:bookmarks:1'/></item>\
            <item><conference xmlns='urn:xmpp:bookmarks:1'/></item>\
            <item id='wrongns@conference.shakespeare.lit'><conference xmlns='storage:bookmarks'/></item>\
            </items></pubsub></iq>
            """)
        let bookmarks = Bookmarks.bookmarks(fromItemsResult: iq)
        #expect(bookmarks.map(\.room.description) == [
            "theplay@conference.shakespeare.lit", "orchard@conference.shakespeare.lit", "minimal@conference.shakespeare.lit",
        ])
        #expect(bookmarks[0] == Bookmarks.Bookmark(room: play, name: "The Play's the Thing", autojoin: true, nick: "JC"))
        #expect(bookmarks[1].autojoin)
        #expect(bookmarks[1].password == "pw")
        #expect(bookmarks[1].extensions?.child("state", namespace: "urn:example:x") != nil)
        #expect(!bookmarks[2].autojoin)
        #expect(bookmarks[2].name == nil)
        #expect(bookmarks[2].nick == nil)
    }

    @Test func fetch_result__extensions_survive_a_republish() throws {
        let iq = try parseElement("""
            <iq type='result' id='f1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:bookmarks:1'>\
            <item id='orchard@conference.shakespeare.lit'><conference xmlns='urn:xmpp:bookmarks:1'>\
            <extensions><state xmlns='urn:example:x' v='1'/></extensions></conference></item></items></pubsub></iq>
            """)
        var bookmark = try #require(Bookmarks.bookmarks(fromItemsResult: iq).first)
        bookmark.autojoin = true
        let published = try wire(Bookmarks.publishRequest(bookmark, id: "p"))
        let state = published.child("pubsub", namespace: NS.pubsub)?.child("publish", namespace: NS.pubsub)?
            .child("item", namespace: NS.pubsub)?.child("conference", namespace: NS.bookmarks)?
            .child("extensions", namespace: NS.bookmarks)?.child("state", namespace: "urn:example:x")
        #expect(state?["v"] == "1")
    }

    @Test func fetch_result__error_or_other_node_is_empty() throws {
        let error = try parseElement(
            "<iq type='error' id='f1'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")
        #expect(Bookmarks.bookmarks(fromItemsResult: error).isEmpty)
        let other = try parseElement("""
            <iq type='result' id='f1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:avatar:data'>\
            \(publishedItem)</items></pubsub></iq>
            """)
        #expect(Bookmarks.bookmarks(fromItemsResult: other).isEmpty)
    }

    @Test func event__from_our_bare_jid_or_no_from__yields_changes_in_order() throws {
        let items = publishedItem + "<retract id='orchard@conference.shakespeare.lit'/>"
        let expected: [Bookmarks.Change] = [
            .published(Bookmarks.Bookmark(room: play, name: "The Play's the Thing", autojoin: true, nick: "JC")),
            .retracted(try JID("orchard@conference.shakespeare.lit")),
        ]
        #expect(Bookmarks.changes(inEvent: try event(from: "juliet@capulet.lit", items: items), ourJID: me) == expected)
        #expect(Bookmarks.changes(inEvent: try event(from: "Juliet@Capulet.lit", items: items), ourJID: me) == expected)
        #expect(Bookmarks.changes(inEvent: try event(from: nil, items: items), ourJID: me) == expected)
    }

    @Test func event__forged_by_anyone_else__is_rejected() throws {
        let senders = [
            "romeo@montague.lit",  // another account pushing an autojoin bookmark
            "juliet@capulet.lit/balcony",  // a full JID, even ours
            "juliet@capulet.lit/other",
            "capulet.lit",  // our server's domain
            "pubsub.capulet.lit",
            "juliet@capulet.lit.evil",
            "not a jid@@",
            "",
        ]
        for sender in senders {
            #expect(Bookmarks.changes(inEvent: try event(from: sender, items: publishedItem), ourJID: me) == nil, "\(sender)")
        }
    }

    @Test func event__other_node_or_not_an_event__is_nil() throws {
        #expect(Bookmarks.changes(inEvent: try event(from: nil, items: publishedItem, node: "urn:xmpp:bookmarks:0"), ourJID: me) == nil)
        let chat = try parseElement("<message from='juliet@capulet.lit' type='chat'><body>hi</body></message>")
        #expect(Bookmarks.changes(inEvent: chat, ourJID: me) == nil)
    }

    @Test func event__malformed_entries_are_skipped() throws {
        let items = "<retract id='not a jid@@'/><retract/><item id='x@y.z'/>" + publishedItem
        let changes = try #require(Bookmarks.changes(inEvent: try event(from: nil, items: items), ourJID: me))
        #expect(changes.count == 1)
        #expect(changes.first == .published(Bookmarks.Bookmark(room: play, name: "The Play's the Thing", autojoin: true, nick: "JC")))
    }

    @Test func support__compat_feature_on_account_info() throws {
        let with = try parseElement("""
            <iq type='result' from='juliet@capulet.lit'><query xmlns='http://jabber.org/protocol/disco#info'>\
            <identity category='account' type='registered'/><feature var='urn:xmpp:bookmarks:1#compat'/></query></iq>
            """)
        let without = try parseElement(
            "<query xmlns='http://jabber.org/protocol/disco#info'><feature var='urn:xmpp:bookmarks:1'/></query>")
        #expect(Bookmarks.isSupported(accountInfo: with))
        #expect(!Bookmarks.isSupported(accountInfo: without))
        #expect(Bookmarks.notifyFeature == "urn:xmpp:bookmarks:1+notify")
        #expect(Bookmarks.compatFeature == "urn:xmpp:bookmarks:1#compat")
    }
}
