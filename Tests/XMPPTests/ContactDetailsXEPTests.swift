/// XEP-0054, XEP-0292, XEP-0092, XEP-0012, XEP-0115 §5 and XEP-0191: pure payload handling.
import Testing
@testable import XMPP

@Suite struct ContactDetailsXEPTests {
    // MARK: XEP-0054

    @Test func vcardTemp__parse__readsShownFieldsAndSkipsEmptyOnes() throws {
        let iq = try parseElement("""
            <iq type='result' id='v1'><vCard xmlns='vcard-temp'>
              <FN>Peter Saint-Andre</FN><N><FAMILY>Saint-Andre</FAMILY><GIVEN>Peter</GIVEN></N>
              <NICKNAME>stpeter</NICKNAME><URL>https://stpeter.im/</URL><BDAY>1966-08-06</BDAY>
              <ORG><ORGNAME>XMPP Standards Foundation</ORGNAME></ORG><TITLE></TITLE>
              <TEL><VOICE/><NUMBER>+1-303-555-1212</NUMBER></TEL>
              <EMAIL><INTERNET/><PREF/><USERID>stpeter@jabber.org</USERID></EMAIL>
              <DESC>More information about me is located on my personal website.</DESC>
            </vCard></iq>
            """)
        let card = VCardTemp.parse(VCardTemp.vCardElement(inResult: iq))
        #expect(card[.fullName] == "Peter Saint-Andre")
        #expect(card[.givenName] == "Peter")
        #expect(card[.familyName] == "Saint-Andre")
        #expect(card[.nickname] == "stpeter")
        #expect(card[.email] == "stpeter@jabber.org")
        #expect(card[.telephone] == "+1-303-555-1212")
        #expect(card[.organization] == "XMPP Standards Foundation")
        #expect(card[.birthday] == "1966-08-06")
        #expect(card[.note]?.hasPrefix("More information") == true)
        #expect(card[.title] == nil, "an empty element is no value")
        #expect(card.entries.first?.field == .fullName)
    }

    @Test func vcardTemp__emptyResult__isAnEmptyCard() throws {
        let iq = try parseElement("<iq type='result' id='v2'/>")
        #expect(VCardTemp.parse(VCardTemp.vCardElement(inResult: iq)).isEmpty)
    }

    @Test func vcardTemp__updating__replacesOneFieldAndKeepsUnknownChildren() throws {
        let old = try parseElement("""
            <iq type='result' id='v3'><vCard xmlns='vcard-temp'><FN>Old</FN><PHOTO><TYPE>image/png</TYPE><BINVAL>AAAA</BINVAL></PHOTO>\
            <N><FAMILY>Doe</FAMILY></N></vCard></iq>
            """).child("vCard", namespace: VCardTemp.namespace)!
        let renamed = VCardTemp.updating(old, .fullName, to: "New Name")
        let given = VCardTemp.updating(renamed, .givenName, to: "Jane")
        let back = try wire(VCardTemp.setRequest(id: "s1", vCard: given))
        let vCard = try #require(back.child("vCard", namespace: VCardTemp.namespace))
        #expect(back["type"] == "set")
        #expect(vCard.children("FN", namespace: VCardTemp.namespace).count == 1)
        #expect(VCardTemp.parse(vCard)[.fullName] == "New Name")
        #expect(VCardTemp.parse(vCard)[.givenName] == "Jane")
        #expect(VCardTemp.parse(vCard)[.familyName] == "Doe", "the other part of N survives")
        #expect(vCard.child("PHOTO", namespace: VCardTemp.namespace)?.childText("BINVAL", namespace: VCardTemp.namespace) == "AAAA")
        let cleared = VCardTemp.updating(vCard, .fullName, to: "")
        #expect(cleared.child("FN", namespace: VCardTemp.namespace) == nil)
    }

    // MARK: XEP-0292

    @Test func vcard4__parseAndBuild__roundTripTheFields() throws {
        var card = VCard()
        card[.fullName] = "Juliet Capulet"
        card[.nickname] = "Jul"
        card[.telephone] = "+1-555-0100"
        card[.givenName] = "Juliet"
        card[.url] = "https://example.org/"
        let built = try wire(IQ.request(.result, id: "r", payload: Element(
            "pubsub", namespace: VCard4.pubsub,
            elements: [Element("items", namespace: VCard4.pubsub, attributes: ["node": VCard4.node], elements: [
                Element("item", namespace: VCard4.pubsub, attributes: ["id": "current"], elements: [VCard4.build(card)]),
            ])])))
        let vcard = try #require(VCard4.vCardElement(inResult: built))
        #expect(VCard4.parse(vcard) == card)
        #expect(vcard.child("tel", namespace: VCard4.namespace)?.childText("uri", namespace: VCard4.namespace) == "tel:+1-555-0100")
    }

    @Test func vcard4__isOffered__onlyWithThePEPIdentity() throws {
        let pep = try parseElement("""
            <query xmlns='http://jabber.org/protocol/disco#info'><identity category='account' type='registered'/>\
            <identity category='pubsub' type='pep'/></query>
            """)
        let none = try parseElement("<query xmlns='http://jabber.org/protocol/disco#info'><identity category='account' type='registered'/></query>")
        #expect(VCard4.isOffered(byAccountInfo: pep))
        #expect(!VCard4.isOffered(byAccountInfo: none))
    }

    // MARK: XEP-0092 and XEP-0012

    @Test func version__answerAndParse__roundTrip() throws {
        let query = try #require(IQ(try parseElement(
            "<iq type='get' id='q1' from='romeo@example.net/orchard'><query xmlns='jabber:iq:version'/></iq>")))
        #expect(SoftwareVersion.isQuery(query))
        let answer = try wire(SoftwareVersion(name: "tern", version: "0.1", os: "Linux").answer(query))
        #expect(answer["to"] == "romeo@example.net/orchard")
        #expect(answer["id"] == "q1")
        #expect(SoftwareVersion(result: answer) == SoftwareVersion(name: "tern", version: "0.1", os: "Linux"))
        #expect(SoftwareVersion(result: try parseElement("<iq type='result' id='x'><query xmlns='jabber:iq:version'/></iq>")) == nil)
    }

    @Test func lastActivity__answerAndParse__roundTripAndRejectNegative() throws {
        let query = try #require(IQ(try parseElement(
            "<iq type='get' id='l1' from='a@b/c'><query xmlns='jabber:iq:last'/></iq>")))
        #expect(LastActivity.isQuery(query))
        #expect(!SoftwareVersion.isQuery(query))
        let answer = try wire(LastActivity(seconds: 903, status: "Heading home").answer(query))
        #expect(LastActivity(result: answer) == LastActivity(seconds: 903, status: "Heading home"))
        let bad = try parseElement("<iq type='result' id='l2'><query xmlns='jabber:iq:last' seconds='-5'/></iq>")
        #expect(LastActivity(result: bad) == nil)
    }

    // MARK: XEP-0115

    @Test func caps__simpleExample__matchesSection5_2() throws {
        let info = EntityCapabilities.Info(
            identities: [.init(category: "client", type: "pc", name: "Exodus 0.9.1")],
            features: [
                "http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items",
                "http://jabber.org/protocol/muc", "http://jabber.org/protocol/caps",
            ])
        #expect(EntityCapabilities.verificationInput(info).hasPrefix("client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<"))
        #expect(try EntityCapabilities.verificationString(info) == "QgayPKawpkPSDYmwT/WM94uAlu0=")
    }

    @Test func caps__complexExample__matchesSection5_3() throws {
        let query = try parseElement("""
            <query xmlns='http://jabber.org/protocol/disco#info'>\
            <identity xml:lang='en' category='client' name='Psi 0.11' type='pc'/>\
            <identity xml:lang='el' category='client' name='Ψ 0.11' type='pc'/>\
            <feature var='http://jabber.org/protocol/caps'/><feature var='http://jabber.org/protocol/disco#info'/>\
            <feature var='http://jabber.org/protocol/disco#items'/><feature var='http://jabber.org/protocol/muc'/>\
            <x xmlns='jabber:x:data' type='result'>\
            <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:dataforms:softwareinfo</value></field>\
            <field var='ip_version'><value>ipv6</value><value>ipv4</value></field>\
            <field var='os'><value>Mac</value></field><field var='os_version'><value>10.5.1</value></field>\
            <field var='software'><value>Psi</value></field><field var='software_version'><value>0.11</value></field>\
            </x></query>
            """)
        let info = try #require(EntityCapabilities.Info(query: query))
        #expect(EntityCapabilities.validates("q07IKJEyjvHSyhy//CH0CxmKi8w=", hash: "sha-1", info: info))
        #expect(!EntityCapabilities.validates("q07IKJEyjvHSyhy//CH0CxmKi8w=", hash: "md5", info: info), "unknown hash: never trusted")
        #expect(!EntityCapabilities.validates("QgayPKawpkPSDYmwT/WM94uAlu0=", hash: "sha-1", info: info), "a forged ver fails")
    }

    @Test func caps__duplicateFeature__isIllFormed__aVisibleFormType__isIgnored() throws {
        let duplicate = try parseElement("""
            <query xmlns='http://jabber.org/protocol/disco#info'><identity category='client' type='pc'/>\
            <feature var='urn:a'/><feature var='urn:a'/></query>
            """)
        #expect(EntityCapabilities.Info(query: duplicate) == nil)
        let visible = try parseElement("""
            <query xmlns='http://jabber.org/protocol/disco#info'><identity category='client' type='pc'/>\
            <x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE'><value>urn:x</value></field></x></query>
            """)
        // §5.4 3.6: a form whose FORM_TYPE is not hidden is left out, and the rest is hashed.
        #expect(EntityCapabilities.Info(query: visible)?.forms == [])
    }

    /// §5.1 ends every value with '<', so a value holding one forges the boundaries: feature
    /// `a<b` hashes like features `a` and `b` (the preimage note of §5 and §8.2). §5.4 must refuse it.
    @Test func caps__lessThanInAnyHashedValue__isIllFormed() throws {
        func query(_ body: String) throws -> Element {
            try parseElement("<query xmlns='http://jabber.org/protocol/disco#info'>\(body)</query>")
        }
        let honest = try #require(EntityCapabilities.Info(query: try query(
            "<identity category='client' type='pc'/><feature var='urn:a'/><feature var='urn:b'/>")))
        let forgedQuery = try query("<identity category='client' type='pc'/><feature var='urn:a&lt;urn:b'/>")
        let forged = EntityCapabilities.Info(identities: honest.identities, features: ["urn:a<urn:b"])
        #expect(
            EntityCapabilities.verificationInput(forged) == EntityCapabilities.verificationInput(honest),
            "why it matters: one feature with '<' is two features to the hash")
        #expect(EntityCapabilities.Info(query: forgedQuery) == nil)
        let form = "<x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'><value>urn:t</value></field>"
        for body in [
            "<identity category='client' type='pc' name='tern&lt;urn:a'/>",
            "<identity category='cli&lt;ent' type='pc'/>",
            "<identity category='client' type='p&lt;c'/>",
            "<identity category='client' type='pc' xml:lang='e&lt;n'/>",
            "<identity category='client' type='pc'/>\(form)<field var='os'><value>Linux&lt;urn:x</value></field></x>",
            "<identity category='client' type='pc'/>\(form)<field var='o&lt;s'><value>Linux</value></field></x>",
            "<identity category='client' type='pc'/><x xmlns='jabber:x:data' type='result'>"
                + "<field var='FORM_TYPE' type='hidden'><value>urn:t&lt;x</value></field></x>",
        ] {
            #expect(EntityCapabilities.Info(query: try query(body)) == nil, "\(body)")
        }
    }

    /// §5.4 3.5: a FORM_TYPE with two different values is ill-formed (only one could be hashed).
    @Test func caps__formTypeWithTwoValues__isIllFormed() throws {
        let query = try parseElement("""
            <query xmlns='http://jabber.org/protocol/disco#info'><identity category='client' type='pc'/>\
            <x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'>\
            <value>urn:a</value><value>urn:b</value></field></x></query>
            """)
        #expect(EntityCapabilities.Info(query: query) == nil)
    }

    @Test func caps__ourCaps__hashesWhatDiscoAnswers() throws {
        let features = [NS.ping, NS.version, NS.receipts]
        let c = try EntityCapabilities.ourCaps(features: features)
        let request = try #require(IQ(try parseElement(
            "<iq type='get' id='d' from='x@y/z'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")))
        let answer = try wire(Disco.infoResult(for: request, identity: .tern, features: features))
        let query = try #require(answer.child("query", namespace: NS.discoInfo))
        let info = try #require(EntityCapabilities.Info(query: query))
        #expect(c["hash"] == "sha-1")
        #expect(c["node"] == EntityCapabilities.ternNode)
        let ver = try #require(c["ver"])
        #expect(EntityCapabilities.validates(ver, hash: "sha-1", info: info))
    }

    // MARK: XEP-0191

    @Test func blocking__blocklistAndRequests__carryTheItems() throws {
        let result = try parseElement("""
            <iq type='result' id='b1'><blocklist xmlns='urn:xmpp:blocking'>\
            <item jid='romeo@montague.net'/><item jid='iago@shakespeare.lit'/><item jid='not a jid@@'/></blocklist></iq>
            """)
        #expect(Blocking.blocklist(inResult: result) == ["romeo@montague.net", "iago@shakespeare.lit"])
        let block = try wire(Blocking.blockRequest(id: "b2", jids: ["romeo@montague.net"]))
        #expect(block["type"] == "set")
        #expect(block.child("block", namespace: Blocking.namespace)?.child("item", namespace: Blocking.namespace)?["jid"] == "romeo@montague.net")
        let unblockAll = try wire(Blocking.unblockRequest(id: "b3", jids: []))
        #expect(unblockAll.child("unblock", namespace: Blocking.namespace)?.elements.isEmpty == true)
    }

    @Test func blocking__push__trustedOnlyFromOurOwnAccount() throws {
        let me = try JID("juliet@capulet.com/balcony")
        func push(_ from: String?) throws -> IQ {
            let attribute = from.map { " from='\($0)'" } ?? ""
            return try #require(IQ(try parseElement(
                "<iq type='set' id='p'\(attribute)><block xmlns='urn:xmpp:blocking'><item jid='romeo@montague.net'/></block></iq>")))
        }
        #expect(Blocking.push(try push(nil), ourJID: me) == .block(["romeo@montague.net"]))
        #expect(Blocking.push(try push("juliet@capulet.com"), ourJID: me) == .block(["romeo@montague.net"]))
        #expect(Blocking.isPush(try push("iago@shakespeare.lit")))
        #expect(Blocking.push(try push("iago@shakespeare.lit"), ourJID: me) == nil)
        #expect(Blocking.push(try push("juliet@capulet.com/other"), ourJID: me) == nil)
        let unblockAll = try #require(IQ(try parseElement("<iq type='set' id='u'><unblock xmlns='urn:xmpp:blocking'/></iq>")))
        #expect(Blocking.push(unblockAll, ourJID: me) == .unblock([]))
    }
}
