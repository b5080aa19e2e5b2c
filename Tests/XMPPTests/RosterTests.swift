import Testing
@testable import XMPP

/// RFC 6121 §2 (roster, versioning), §3 (subscriptions) and §4 (presence), without sockets.
@Suite struct RosterTests {
    let me = try! JID("alice@example.org/tern.1")

    @Test func rosterGet__carries_the_version_only_when_given() throws {
        let versioned = try wire(Roster.get(id: "r1", version: "v7"))
        #expect(versioned["type"] == "get")
        #expect(versioned.child("query", namespace: NS.roster)?["ver"] == "v7")
        let plain = try wire(Roster.get(id: "r2", version: nil))
        #expect(plain.child("query", namespace: NS.roster)?["ver"] == nil)
    }

    @Test func fetchResult__empty_result__means_unchanged() throws {
        let reply = try parseElement("<iq type='result' id='r1'/>")
        #expect(Roster.fetchResult(reply) == .unchanged)
    }

    @Test func fetchResult__full_roster__parses_items_groups_ask_and_version() throws {
        let reply = try parseElement("""
            <iq type='result' id='r1'><query xmlns='jabber:iq:roster' ver='v9'>\
            <item jid='bob@example.org' name='Bob' subscription='both'><group>Friends</group><group>Work</group><group>Friends</group></item>\
            <item jid='carol@example.org' subscription='none' ask='subscribe'/>\
            <item jid='not a jid@@' subscription='both'/>\
            <item jid='dave@example.org/phone' subscription='bogus'/>\
            </query></iq>
            """)
        guard case .full(let items, let version) = Roster.fetchResult(reply) else {
            Issue.record("expected a full roster")
            return
        }
        #expect(version == "v9")
        #expect(items.map(\.jid.description) == ["bob@example.org", "carol@example.org", "dave@example.org"])
        #expect(items[0].name == "Bob")
        #expect(items[0].subscription == .both)
        #expect(items[0].groups == ["Friends", "Work"])
        #expect(items[1].ask)
        #expect(items[1].subscription == .none)
        #expect(items[2].subscription == .none, "an unknown subscription value reads as none")
    }

    @Test func pushVerdict__without_from__is_applied_and_answered_with_a_result() throws {
        let push = try parseElement("""
            <iq type='set' id='p1'><query xmlns='jabber:iq:roster' ver='v10'><item jid='bob@example.org' subscription='remove'/></query></iq>
            """)
        guard case .apply(let applied, let reply) = Roster.verdict(on: push, ourJID: me) else {
            Issue.record("expected the push to be applied")
            return
        }
        #expect(applied.item.subscription == .remove)
        #expect(applied.version == "v10")
        #expect(reply["type"] == "result")
        #expect(reply["id"] == "p1")
    }

    @Test func pushVerdict__from_our_bare_jid__is_applied() throws {
        let push = try parseElement("""
            <iq type='set' id='p2' from='alice@example.org'><query xmlns='jabber:iq:roster'><item jid='bob@example.org'/></query></iq>
            """)
        guard case .apply = Roster.verdict(on: push, ourJID: me) else {
            Issue.record("expected the push to be applied")
            return
        }
    }

    @Test(arguments: ["mallory@example.org/x", "alice@example.org/other", "example.org", "evil.example", "bad@@jid"])
    func pushVerdict__from_anyone_else__is_refused_with_service_unavailable(_ from: String) throws {
        let push = try parseElement("""
            <iq type='set' id='p3' from='\(from)'><query xmlns='jabber:iq:roster'><item jid='eve@example.org' subscription='both'/></query></iq>
            """)
        guard case .refuse(let reply) = Roster.verdict(on: push, ourJID: me) else {
            Issue.record("a push from \(from) must be refused")
            return
        }
        #expect(reply["type"] == "error")
        #expect(reply["to"] == from)
        #expect(IQ(reply)?.error?.condition == "service-unavailable")
    }

    @Test func pushVerdict__with_two_items__is_a_bad_request() throws {
        let push = try parseElement("""
            <iq type='set' id='p4'><query xmlns='jabber:iq:roster'><item jid='a@example.org'/><item jid='b@example.org'/></query></iq>
            """)
        guard case .refuse(let reply) = Roster.verdict(on: push, ourJID: me) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(IQ(reply)?.error?.condition == "bad-request")
    }

    @Test func pushVerdict__ignores_what_is_not_a_roster_set() throws {
        let result = try parseElement("<iq type='result' id='x'><query xmlns='jabber:iq:roster'/></iq>")
        #expect(Roster.verdict(on: result, ourJID: me) == nil)
        let other = try parseElement("<iq type='set' id='y'><query xmlns='jabber:iq:version'/></iq>")
        #expect(Roster.verdict(on: other, ourJID: me) == nil)
    }

    @Test func rosterSet__builds_name_and_groups_for_the_bare_jid() throws {
        let set = try wire(Roster.set(id: "s1", jid: try JID("bob@example.org/phone"), name: "Bob", groups: ["Friends", "Work"]))
        let item = try #require(set.child("query", namespace: NS.roster)?.child("item", namespace: NS.roster))
        #expect(set["type"] == "set")
        #expect(item["jid"] == "bob@example.org")
        #expect(item["name"] == "Bob")
        #expect(item.children("group", namespace: NS.roster).map(\.text) == ["Friends", "Work"])
        #expect(item["subscription"] == nil)
    }

    @Test func rosterRemove__sets_subscription_remove() throws {
        let remove = try wire(Roster.remove(id: "s2", jid: try JID("bob@example.org")))
        let item = try #require(remove.child("query", namespace: NS.roster)?.child("item", namespace: NS.roster))
        #expect(item["subscription"] == "remove")
        #expect(item["jid"] == "bob@example.org")
    }

    @Test func subscription__stanzas_go_to_the_bare_jid() throws {
        let subscribe = try wire(Subscription.stanza(.subscribe, to: try JID("bob@example.org/phone"), status: "hi"))
        #expect(subscribe["to"] == "bob@example.org")
        #expect(subscribe["type"] == "subscribe")
        #expect(subscribe.childText("status", namespace: NS.client) == "hi")
        let approve = try wire(Subscription.stanza(.subscribed, to: try JID("bob@example.org"), status: "ignored"))
        #expect(approve["type"] == "subscribed")
        #expect(approve.child("status", namespace: NS.client) == nil)
    }

    @Test func subscription__incoming_request__names_the_bare_sender() throws {
        let request = try parseElement("<presence from='bob@example.org/phone' type='subscribe'><status>it is me</status></presence>")
        #expect(Subscription.incoming(request) == Subscription.Incoming(kind: .subscribe, from: try JID("bob@example.org"), status: "it is me"))
        #expect(Subscription.incoming(try parseElement("<presence from='bob@example.org/phone'/>")) == nil)
        #expect(Subscription.incoming(try parseElement("<presence type='subscribe'/>")) == nil, "no sender, nothing to answer")
    }

    @Test func presenceUpdate__reads_show_status_priority_per_resource() throws {
        let available = try #require(PresenceExchange.update(try parseElement(
            "<presence from='bob@example.org/phone'><show>away</show><status>lunch</status><priority>5</priority></presence>")))
        #expect(available.from.resource == "phone")
        #expect(available.available)
        #expect(available.show == .away)
        #expect(available.status == "lunch")
        #expect(available.priority == 5)
        let gone = try #require(PresenceExchange.update(try parseElement("<presence from='bob@example.org/phone' type='unavailable'/>")))
        #expect(!gone.available)
        let wild = try #require(PresenceExchange.update(try parseElement("<presence from='bob@example.org/x'><priority>900</priority></presence>")))
        #expect(wild.priority == 0, "out-of-range priority reads as 0")
        #expect(PresenceExchange.update(try parseElement("<presence from='bob@example.org' type='subscribe'/>")) == nil)
        #expect(PresenceExchange.update(try parseElement("<presence from='bob@example.org' type='error'/>")) == nil)
    }

    @Test func ownPresence__carries_show_status_and_priority() throws {
        let own = try wire(PresenceExchange.own(show: .dnd, status: "busy", priority: 3))
        #expect(own["type"] == nil)
        #expect(own.childText("show", namespace: NS.client) == "dnd")
        #expect(own.childText("status", namespace: NS.client) == "busy")
        #expect(own.childText("priority", namespace: NS.client) == "3")
    }
}
