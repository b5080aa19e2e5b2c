/// XEP-0045 Multi-User Chat: join/leave/nick stanzas, occupant presence, status codes, join errors,
/// owner and moderator requests, subjects, mediated invitations, room messages and mentions.
import Foundation
import Testing
@testable import XMPP

private let room = try! JID("coven@chat.shakespeare.lit")
private let occupant = try! JID("coven@chat.shakespeare.lit/thirdwitch")

/// An occupant presence from the room, with a `muc#user` `<x/>` holding `inner`.
private func occupantXML(nick: String = "thirdwitch", type: String? = nil, inner: String, extra: String = "") -> String {
    let typeAttribute = type.map { " type='\($0)'" } ?? ""
    return "<presence from='coven@chat.shakespeare.lit/\(nick)' to='hag66@shakespeare.lit/pda'\(typeAttribute)>"
        + extra + "<x xmlns='http://jabber.org/protocol/muc#user'>\(inner)</x></presence>"
}

private func errorPresence(_ condition: String, type: String = "cancel", text: String? = nil) throws -> Element {
    let textElement = text.map { "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>\($0)</text>" } ?? ""
    return try parseElement(
        "<presence from='coven@chat.shakespeare.lit/thirdwitch' to='hag66@shakespeare.lit/pda' type='error'>"
            + "<x xmlns='http://jabber.org/protocol/muc'/>"
            + "<error type='\(type)'><\(condition) xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\(textElement)</error>"
            + "</presence>")
}

@Suite struct MUCJoinTests {
    @Test func join_presence__history_none__asks_for_zero_stanzas() throws {
        let presence = try wire(MUC.joinPresence(occupant: occupant, password: nil, history: .none))
        #expect(presence.name == "presence")
        #expect(presence["to"] == "coven@chat.shakespeare.lit/thirdwitch")
        #expect(presence["type"] == nil)
        let x = try #require(presence.child("x", namespace: NS.muc))
        #expect(x.child("history", namespace: NS.muc)?["maxstanzas"] == "0")
        #expect(x.child("password", namespace: NS.muc) == nil)
    }

    @Test func join_presence__since__writes_xep0082_stamp_without_fraction() throws {
        let date = Date(timeIntervalSince1970: 1_700_000_000.75)
        let presence = try wire(MUC.joinPresence(occupant: occupant, password: nil, history: .since(date)))
        let history = try #require(presence.child("x", namespace: NS.muc)?.child("history", namespace: NS.muc))
        #expect(history["since"] == "2023-11-14T22:13:20Z")
        #expect(history["maxstanzas"] == nil)
    }

    @Test func join_presence__server_default_with_password__has_no_history_and_the_password() throws {
        let presence = try wire(MUC.joinPresence(
            occupant: occupant, password: "cauldronburn", history: .serverDefault, show: .away, status: "brewing"))
        let x = try #require(presence.child("x", namespace: NS.muc))
        #expect(x.child("history", namespace: NS.muc) == nil)
        #expect(x.childText("password", namespace: NS.muc) == "cauldronburn")
        #expect(presence.childText("show", namespace: NS.client) == "away")
        #expect(presence.childText("status", namespace: NS.client) == "brewing")
    }

    @Test func join_presence__serialises_to_the_xep_shape() throws {
        let xml = try XMLSerializer.serialize(MUC.joinPresence(occupant: occupant, password: nil, history: .none))
        #expect(xml == "<presence to='coven@chat.shakespeare.lit/thirdwitch'>"
            + "<x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>")
    }

    @Test func leave_presence__is_unavailable_with_optional_status() throws {
        let withStatus = try wire(MUC.leavePresence(occupant: occupant, status: "gone to the heath"))
        #expect(withStatus["type"] == "unavailable")
        #expect(withStatus["to"] == occupant.description)
        #expect(withStatus.childText("status", namespace: NS.client) == "gone to the heath")
        let bare = try wire(MUC.leavePresence(occupant: occupant, status: nil))
        #expect(bare.elements.isEmpty)
    }

    @Test func nick_change_presence__has_no_muc_x() throws {
        let presence = try wire(MUC.nickChangePresence(newOccupant: try JID("coven@chat.shakespeare.lit/oldhag")))
        #expect(presence["to"] == "coven@chat.shakespeare.lit/oldhag")
        #expect(presence["type"] == nil)
        #expect(presence.elements.isEmpty)
    }

    @Test func nick_with_suffix__counts_from_two() {
        #expect(MUC.nickWithSuffix("hag", attempt: 1) == "hag")
        #expect(MUC.nickWithSuffix("hag", attempt: 0) == "hag")
        #expect(MUC.nickWithSuffix("hag", attempt: 2) == "hag_2")
        #expect(MUC.nickWithSuffix("hag", attempt: 3) == "hag_3")
    }

    @Test func nick_with_suffix__trims_whole_characters_to_fit_a_resourcepart() throws {
        let long = String(repeating: "é", count: 600)  // 1200 bytes
        let nick = MUC.nickWithSuffix(long, attempt: 12)
        #expect(nick.utf8.count <= 1023)
        #expect(nick.hasSuffix("_12"))
        #expect(nick.dropLast(3).allSatisfy { $0 == "é" })
        _ = try room.withResource(nick)  // still a valid occupant JID
    }
}

@Suite struct MUCOccupantPresenceTests {
    @Test func occupant__non_muc_presence__is_nil() throws {
        let plain = try parseElement("<presence from='coven@chat.shakespeare.lit/thirdwitch'/>")
        #expect(MUC.occupantPresence(plain) == nil)
        let noNick = try parseElement(
            "<presence from='coven@chat.shakespeare.lit'><x xmlns='http://jabber.org/protocol/muc#user'/></presence>")
        #expect(MUC.occupantPresence(noNick) == nil)
        let error = try errorPresence("conflict")
        #expect(MUC.occupantPresence(error) == nil)
    }

    @Test func occupant__other_occupant__role_affiliation_and_real_jid() throws {
        let presence = try parseElement(occupantXML(
            nick: "firstwitch",
            inner: "<item affiliation='owner' role='moderator' jid='crone1@shakespeare.lit/desktop'/>",
            extra: "<show>dnd</show><status>stirring</status>"))
        let parsed = try #require(MUC.occupantPresence(presence))
        #expect(parsed.room == room)
        #expect(parsed.nick == "firstwitch")
        #expect(parsed.isAvailable)
        #expect(parsed.role == MUC.Role.moderator)
        #expect(parsed.affiliation == MUC.Affiliation.owner)
        #expect(parsed.realJID == (try JID("crone1@shakespeare.lit/desktop")))
        #expect(!parsed.isSelf)
        #expect(parsed.show == "dnd")
        #expect(parsed.status == "stirring")
        #expect(parsed.exit == nil)
    }

    @Test func occupant__unknown_role_or_bad_jid__is_nil_not_a_guess() throws {
        let presence = try parseElement(occupantXML(inner: "<item affiliation='king' role='jester' jid='not a jid@@'/>"))
        let parsed = try #require(MUC.occupantPresence(presence))
        #expect(parsed.role == nil)
        #expect(parsed.affiliation == nil)
        #expect(parsed.realJID == nil)
    }

    @Test func occupant__self_presence_110_and_201__room_created() throws {
        let presence = try parseElement(occupantXML(
            inner: "<item affiliation='owner' role='moderator'/><status code='110'/><status code='201'/>"))
        let parsed = try #require(MUC.occupantPresence(presence))
        #expect(parsed.isSelf)
        #expect(parsed.statusCodes == [110, 201])
        #expect(parsed.knownStatusCodes == [.selfPresence, .roomCreated])
        #expect(parsed.affiliation == MUC.Affiliation.owner)
    }

    @Test func occupant__210__the_self_presence_nick_is_authoritative() throws {
        let presence = try parseElement(occupantXML(
            nick: "thirdwitch_service", inner: "<item affiliation='member' role='participant'/><status code='110'/><status code='210'/>"))
        let parsed = try #require(MUC.occupantPresence(presence))
        #expect(parsed.isSelf)
        #expect(parsed.statusCodes.contains(MUC.StatusCode.nickAssigned.rawValue))
        #expect(parsed.nick == "thirdwitch_service")
    }

    @Test func occupant__100_and_170__are_recognised() throws {
        let presence = try parseElement(occupantXML(
            inner: "<item affiliation='none' role='participant'/><status code='100'/><status code='110'/><status code='170'/>"))
        let parsed = try #require(MUC.occupantPresence(presence))
        #expect(parsed.knownStatusCodes == [.nonAnonymous, .selfPresence, .loggingEnabled])
    }

    @Test func occupant__unknown_and_junk_codes__kept_raw_or_dropped() throws {
        let presence = try parseElement(occupantXML(inner: "<status code='999'/><status code='abc'/><status/>"))
        let parsed = try #require(MUC.occupantPresence(presence))
        #expect(parsed.statusCodes == [999])
        #expect(parsed.knownStatusCodes.isEmpty)
    }

    @Test func occupant__303__nick_change_with_new_nick() throws {
        let presence = try parseElement(occupantXML(
            type: "unavailable",
            inner: "<item affiliation='member' jid='hag66@shakespeare.lit/pda' nick='oldhag' role='participant'/>"
                + "<status code='303'/><status code='110'/>"))
        let parsed = try #require(MUC.occupantPresence(presence))
        #expect(!parsed.isAvailable)
        #expect(parsed.isSelf)
        #expect(parsed.newNick == "oldhag")
        #expect(parsed.exit == .nickChanged(to: "oldhag"))
    }

    @Test func occupant__item_nick_without_303__is_not_a_new_nick() throws {
        let presence = try parseElement(occupantXML(type: "unavailable", inner: "<item nick='other' role='none'/>"))
        let parsed = try #require(MUC.occupantPresence(presence))
        #expect(parsed.newNick == nil)
        #expect(parsed.exit == .left)
    }

    @Test func occupant__307__kicked_with_reason_and_actor_nick() throws {
        let presence = try parseElement(occupantXML(
            nick: "pistol", type: "unavailable",
            inner: "<item affiliation='none' role='none'><actor nick='Fluellen'/><reason>Avaunt, you cullion!</reason></item>"
                + "<status code='307'/>"))
        let parsed = try #require(MUC.occupantPresence(presence))
        #expect(parsed.reason == "Avaunt, you cullion!")
        #expect(parsed.actor == "Fluellen")
        #expect(parsed.role == MUC.Role.none)
        #expect(parsed.exit == .kicked(reason: "Avaunt, you cullion!"))
    }

    @Test func occupant__301__banned_with_actor_jid() throws {
        let presence = try parseElement(occupantXML(
            nick: "pistol", type: "unavailable",
            inner: "<item affiliation='outcast' role='none'><actor jid='fluellen@shakespeare.lit'/><reason>Treason</reason></item>"
                + "<status code='301'/>"))
        let parsed = try #require(MUC.occupantPresence(presence))
        #expect(parsed.affiliation == MUC.Affiliation.outcast)
        #expect(parsed.actor == "fluellen@shakespeare.lit")
        #expect(parsed.exit == .banned(reason: "Treason"))
    }

    @Test func occupant__exit_for_each_removal_code() throws {
        let cases: [(String, MUC.Exit)] = [
            ("<status code='321'/>", .removedByAffiliationChange),
            ("<status code='322'/>", .membersOnly),
            ("<status code='332'/>", .shutdown),
            ("<status code='333'/>", .errorRemoval),
            ("<status code='307'/><status code='333'/>", .errorRemoval),  // 333 outranks the 307 it comes with
            ("<status code='307'/>", .kicked(reason: nil)),
            ("<status code='301'/><status code='307'/>", .banned(reason: nil)),
            ("", .left),
            ("<status code='110'/>", .left),
        ]
        for (codes, exit) in cases {
            let presence = try parseElement(occupantXML(type: "unavailable", inner: "<item role='none'/>" + codes))
            #expect(MUC.occupantPresence(presence)?.exit == exit, "\(codes)")
        }
    }

    @Test func occupant__available_presence_with_removal_code__has_no_exit() throws {
        let presence = try parseElement(occupantXML(inner: "<status code='307'/>"))
        #expect(MUC.occupantPresence(presence)?.exit == nil)
    }

    @Test func occupant__destroyed_room__exit_names_the_alternate() throws {
        let presence = try parseElement(occupantXML(
            type: "unavailable",
            inner: "<item affiliation='none' role='none'/>"
                + "<destroy jid='coven@chat.shakespeare.lit.new'><reason>Macbeth doth come.</reason></destroy>"))
        let parsed = try #require(MUC.occupantPresence(presence))
        #expect(parsed.exit == .roomDestroyed(reason: "Macbeth doth come.", alternate: try JID("coven@chat.shakespeare.lit.new")))
    }

    @Test func status_code__every_code_has_a_summary() {
        #expect(MUC.StatusCode.allCases.map(\.rawValue) == [100, 110, 170, 201, 210, 301, 303, 307, 321, 322, 332, 333])
        for code in MUC.StatusCode.allCases {
            #expect(!code.summary.isEmpty)
            #expect(!code.summary.contains("\n"))
        }
        #expect(Set(MUC.StatusCode.allCases.map(\.summary)).count == MUC.StatusCode.allCases.count)
    }
}

@Suite struct MUCJoinErrorTests {
    @Test func join_error__each_condition() throws {
        let cases: [(String, MUC.JoinError)] = [
            ("conflict", .nickConflict),
            ("not-authorized", .passwordRequired),
            ("registration-required", .membersOnly),
            ("forbidden", .banned),
            ("service-unavailable", .roomFull),
            ("item-not-found", .roomLocked),
            ("not-allowed", .creationRestricted),
            ("jid-malformed", .nickRequired),
            ("not-acceptable", .other(condition: "not-acceptable", text: nil)),
        ]
        for (condition, expected) in cases {
            #expect(MUC.joinError(try errorPresence(condition)) == expected, "\(condition)")
        }
    }

    @Test func join_error__other_keeps_the_server_text() throws {
        let error = MUC.joinError(try errorPresence("policy-violation", text: "too many joins"))
        #expect(error == .other(condition: "policy-violation", text: "too many joins"))
        #expect(error?.message == "could not join the room: policy-violation (too many joins)")
    }

    @Test func join_error__error_without_child__is_undefined_condition() throws {
        let presence = try parseElement("<presence from='coven@chat.shakespeare.lit/x' type='error'/>")
        #expect(MUC.joinError(presence) == .other(condition: "undefined-condition", text: nil))
    }

    @Test func join_error__non_error_presence__is_nil() throws {
        #expect(MUC.joinError(try parseElement(occupantXML(inner: "<status code='110'/>"))) == nil)
        #expect(MUC.joinError(try parseElement("<presence type='unavailable'/>")) == nil)
    }

    @Test func join_error__messages_are_single_distinct_lines() {
        let all: [MUC.JoinError] = [
            .nickConflict, .passwordRequired, .membersOnly, .banned, .roomFull, .roomLocked,
            .creationRestricted, .nickRequired, .other(condition: "gone", text: nil),
        ]
        #expect(Set(all.map(\.message)).count == all.count)
        for error in all { #expect(!error.message.contains("\n")) }
        #expect(MUC.JoinError.passwordRequired.message.contains("--password-file"))
        #expect(MUC.JoinError.nickConflict.message.contains("--nick"))
    }
}

@Suite struct MUCRequestTests {
    @Test func instant_room__owner_query_with_empty_submit_form() throws {
        let iq = try wire(MUC.instantRoomRequest(room: occupant, id: "create1"))
        #expect(iq["type"] == "set")
        #expect(iq["to"] == "coven@chat.shakespeare.lit")
        #expect(iq["id"] == "create1")
        let form = try #require(iq.child("query", namespace: NS.mucOwner)?.child("x", namespace: NS.dataForms))
        #expect(form["type"] == "submit")
        #expect(form.elements.isEmpty)
    }

    @Test func subject_change__groupchat_message_with_subject_only() throws {
        let message = try wire(MUC.subjectChange(room: room, subject: "Fire Burn and Cauldron Bubble!", id: "s1"))
        #expect(message["type"] == "groupchat")
        #expect(message["to"] == "coven@chat.shakespeare.lit")
        #expect(message.childText("subject", namespace: NS.client) == "Fire Burn and Cauldron Bubble!")
        #expect(message.child("body", namespace: NS.client) == nil)
        // What we send reads back as a subject change.
        let echoed = message.with(attributes: ["from": "coven@chat.shakespeare.lit/thirdwitch", "to": nil])
        #expect(MUC.subject(of: echoed) == .some("Fire Burn and Cauldron Bubble!"))
    }

    @Test func subject__cleared_is_empty_string_and_body_disqualifies() throws {
        let cleared = try parseElement("<message from='coven@chat.shakespeare.lit/a' type='groupchat'><subject/></message>")
        #expect(MUC.subject(of: cleared) == .some(""))
        let withBody = try parseElement(
            "<message from='coven@chat.shakespeare.lit/a' type='groupchat'><subject>x</subject><body>hi</body></message>")
        #expect(MUC.subject(of: withBody) == nil)
        let chat = try parseElement("<message from='coven@chat.shakespeare.lit/a' type='chat'><subject>x</subject></message>")
        #expect(MUC.subject(of: chat) == nil)
        let none = try parseElement("<message from='coven@chat.shakespeare.lit/a' type='groupchat'><body>hi</body></message>")
        #expect(MUC.subject(of: none) == nil)
    }

    @Test func kick__admin_item_with_role_none_and_reason() throws {
        let iq = try wire(MUC.kickRequest(room: room, nick: "pistol", reason: "Avaunt", id: "kick1"))
        #expect(iq["type"] == "set")
        #expect(iq["to"] == "coven@chat.shakespeare.lit")
        let item = try #require(iq.child("query", namespace: NS.mucAdmin)?.child("item", namespace: NS.mucAdmin))
        #expect(item["nick"] == "pistol")
        #expect(item["role"] == "none")
        #expect(item["affiliation"] == nil)
        #expect(item.childText("reason", namespace: NS.mucAdmin) == "Avaunt")
    }

    @Test func ban__admin_item_outcast_by_bare_jid() throws {
        let iq = try wire(MUC.banRequest(room: room, jid: try JID("earlofcambridge@shakespeare.lit/stabber"), reason: nil, id: "ban1"))
        let item = try #require(iq.child("query", namespace: NS.mucAdmin)?.child("item", namespace: NS.mucAdmin))
        #expect(item["affiliation"] == "outcast")
        #expect(item["jid"] == "earlofcambridge@shakespeare.lit")
        #expect(item["role"] == nil)
        #expect(item.child("reason", namespace: NS.mucAdmin) == nil)
    }
}

@Suite struct MUCInviteTests {
    @Test func mediated_invite__parses_room_inviter_reason_password() throws {
        let message = try parseElement("""
            <message from='coven@chat.shakespeare.lit' id='nzd143v8' to='hecate@shakespeare.lit'>\
            <x xmlns='http://jabber.org/protocol/muc#user'>\
            <invite from='crone1@shakespeare.lit/desktop'><reason>Hey Hecate, this is the place for all good witches!</reason></invite>\
            <password>cauldronburn</password></x></message>
            """)
        let invite = try #require(MUC.mediatedInvite(in: message))
        #expect(invite.room == room)
        #expect(invite.from == (try JID("crone1@shakespeare.lit/desktop")))
        #expect(invite.reason == "Hey Hecate, this is the place for all good witches!")
        #expect(invite.password == "cauldronburn")
    }

    @Test func mediated_invite__from_an_occupant_or_invalid_room__is_rejected() throws {
        for from in ["coven@chat.shakespeare.lit/pistol", "chat.shakespeare.lit", "not a jid@@"] {
            let message = try parseElement(
                "<message from='\(from)'><x xmlns='http://jabber.org/protocol/muc#user'><invite from='a@b.c'/></x></message>")
            #expect(MUC.mediatedInvite(in: message) == nil, "\(from)")
        }
        let noFrom = try parseElement("<message><x xmlns='http://jabber.org/protocol/muc#user'><invite/></x></message>")
        #expect(MUC.mediatedInvite(in: noFrom) == nil)
        let noInvite = try parseElement("<message from='coven@chat.shakespeare.lit'><x xmlns='http://jabber.org/protocol/muc#user'/></message>")
        #expect(MUC.mediatedInvite(in: noInvite) == nil)
    }

    @Test func mediated_invite_message__goes_to_the_room_with_invite_to() throws {
        let message = try wire(MUC.mediatedInviteMessage(
            room: room, invitee: try JID("hecate@shakespeare.lit"), reason: "join us", id: "inv1"))
        #expect(message["to"] == "coven@chat.shakespeare.lit")
        #expect(message["type"] == nil)
        let invite = try #require(message.child("x", namespace: NS.mucUser)?.child("invite", namespace: NS.mucUser))
        #expect(invite["to"] == "hecate@shakespeare.lit")
        #expect(invite.childText("reason", namespace: NS.mucUser) == "join us")
    }
}

@Suite struct MUCRoomMessageTests {
    @Test func room_message__occupant_message_with_ids_and_delay() throws {
        let message = try parseElement("""
            <message from='coven@chat.shakespeare.lit/thirdwitch' id='m1' type='groupchat'>\
            <body>Harpier cries</body>\
            <stanza-id xmlns='urn:xmpp:sid:0' by='coven@chat.shakespeare.lit' id='room-42'/>\
            <origin-id xmlns='urn:xmpp:sid:0' id='origin-7'/>\
            <delay xmlns='urn:xmpp:delay' from='coven@chat.shakespeare.lit' stamp='2002-10-13T23:58:37Z'/>\
            </message>
            """)
        let parsed = try #require(MUC.roomMessage(message))
        #expect(parsed.room == room)
        #expect(parsed.nick == "thirdwitch")
        #expect(parsed.body == "Harpier cries")
        #expect(parsed.id == "m1")
        #expect(parsed.stanzaID == "room-42")
        #expect(parsed.originID == "origin-7")
        #expect(parsed.delay == Date(timeIntervalSince1970: 1_034_553_517))
        #expect(parsed.subject == nil)
        #expect(!parsed.carriesCarbon)
        #expect(MUC.isRoomMessage(message))
    }

    @Test func room_message__stanza_id_only_trusted_from_the_room() throws {
        let message = try parseElement("""
            <message from='coven@chat.shakespeare.lit/thirdwitch' type='groupchat'><body>x</body>\
            <stanza-id xmlns='urn:xmpp:sid:0' by='hag66@shakespeare.lit' id='forged-1'/>\
            <stanza-id xmlns='urn:xmpp:sid:0' by='coven@chat.shakespeare.lit/thirdwitch' id='forged-2'/>\
            <stanza-id xmlns='urn:xmpp:sid:0' id='forged-3'/>\
            </message>
            """)
        #expect(MUC.roomMessage(message)?.stanzaID == nil)
    }

    @Test func room_message__from_the_room_itself_has_no_nick_and_carries_subject() throws {
        let message = try parseElement(
            "<message from='coven@chat.shakespeare.lit' type='groupchat'><subject>Spells</subject></message>")
        let parsed = try #require(MUC.roomMessage(message))
        #expect(parsed.nick == nil)
        #expect(parsed.subject == .some("Spells"))
    }

    @Test func room_message__carbon_wrappers_are_flagged() throws {
        for wrapper in ["received", "sent"] {
            let message = try parseElement("""
                <message from='coven@chat.shakespeare.lit/mallory' type='groupchat'>\
                <\(wrapper) xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>\
                <message xmlns='jabber:client' from='boss@example.com' type='chat'><body>wire money</body></message>\
                </forwarded></\(wrapper)></message>
                """)
            #expect(MUC.roomMessage(message)?.carriesCarbon == true, "\(wrapper)")
        }
        let privateHint = try parseElement(
            "<message from='coven@chat.shakespeare.lit/a' type='groupchat'><body>x</body><private xmlns='urn:xmpp:carbons:2'/></message>")
        #expect(MUC.roomMessage(privateHint)?.carriesCarbon == false)
    }

    @Test func room_message__not_groupchat_or_no_room__is_nil() throws {
        let chat = try parseElement("<message from='coven@chat.shakespeare.lit/a' type='chat'><body>x</body></message>")
        let noFrom = try parseElement("<message type='groupchat'><body>x</body></message>")
        let domainOnly = try parseElement("<message from='chat.shakespeare.lit' type='groupchat'><body>x</body></message>")
        let error = try parseElement("<message from='coven@chat.shakespeare.lit' type='error'><body>x</body></message>")
        for message in [chat, noFrom, domainOnly, error] {
            #expect(MUC.roomMessage(message) == nil)
            #expect(!MUC.isRoomMessage(message))
        }
    }
}

@Suite struct MUCDiscoAndMentionTests {
    let info = """
        <iq type='result' from='coven@chat.shakespeare.lit'><query xmlns='http://jabber.org/protocol/disco#info'>\
        <identity category='conference' type='text' name='A Dark Cave'/>\
        <feature var='http://jabber.org/protocol/muc'/><feature var='muc_passwordprotected'/>\
        <feature var='urn:xmpp:mam:2'/><feature var='urn:xmpp:sid:0'/></query></iq>
        """

    @Test func disco__features_from_iq_or_query() throws {
        let iq = try parseElement(info)
        let query = try #require(iq.child("query", namespace: NS.discoInfo))
        let expected: Set<String> = ["http://jabber.org/protocol/muc", "muc_passwordprotected", NS.mam, NS.sid]
        #expect(MUC.features(fromInfo: iq) == expected)
        #expect(MUC.features(fromInfo: query) == expected)
        #expect(MUC.isRoomArchived(info: query))
        #expect(MUC.isPasswordProtected(info: iq))
    }

    @Test func disco__absent_features() throws {
        let query = try parseElement(
            "<query xmlns='http://jabber.org/protocol/disco#info'><feature var='muc_unsecured'/><feature var='urn:xmpp:mam:1'/></query>")
        #expect(!MUC.isRoomArchived(info: query))
        #expect(!MUC.isPasswordProtected(info: query))
        #expect(MUC.features(fromInfo: try parseElement("<presence/>")).isEmpty)
    }

    @Test func mentions__whole_words_only() {
        #expect(MUC.mentions(nick: "bob", in: "bob: hi"))
        #expect(MUC.mentions(nick: "bob", in: "hi @bob!"))
        #expect(MUC.mentions(nick: "bob", in: "bob"))
        #expect(MUC.mentions(nick: "bob", in: "ask bob's cat"))
        #expect(MUC.mentions(nick: "bob", in: "(bob)"))
        #expect(MUC.mentions(nick: "bob", in: "bobby and bob"))  // a later occurrence counts
        #expect(!MUC.mentions(nick: "bob", in: "bobby"))
        #expect(!MUC.mentions(nick: "bob", in: "kabob"))
        #expect(!MUC.mentions(nick: "bob", in: "bob2 says hi"))
        #expect(!MUC.mentions(nick: "bob", in: "bob_2: hi"))
        #expect(!MUC.mentions(nick: "bob", in: "nothing here"))
        #expect(!MUC.mentions(nick: "", in: "anything"))
        #expect(!MUC.mentions(nick: "bob", in: ""))
    }

    @Test func mentions__case_insensitive() {
        #expect(MUC.mentions(nick: "Bob", in: "BOB, come here"))
        #expect(MUC.mentions(nick: "BOB", in: "hey bob"))
    }

    @Test func mentions__unicode() {
        #expect(MUC.mentions(nick: "Zoë", in: "ZOË: look"))
        #expect(MUC.mentions(nick: "zoë", in: "hi zoe\u{308}!"))  // decomposed ë is the same character
        #expect(!MUC.mentions(nick: "zoe", in: "hi zoë"))  // the diacritic belongs to the letter
        #expect(!MUC.mentions(nick: "zoë", in: "zoëlle"))
        #expect(MUC.mentions(nick: "Ærøskøbing", in: "«ærøskøbing» said so"))
        #expect(MUC.mentions(nick: "魔女", in: "こんにちは 魔女 さん"))
        #expect(!MUC.mentions(nick: "魔女", in: "大魔女"))
        #expect(MUC.mentions(nick: "bob", in: "👋bob👋"))
    }

    @Test func mentions__nick_with_punctuation_and_repeats() {
        #expect(MUC.mentions(nick: "[bot]", in: "ping [bot]"))
        #expect(MUC.mentions(nick: "aab", in: "aaab aab"))
        #expect(!MUC.mentions(nick: "aab", in: "aaab"))
        #expect(MUC.mentions(nick: "ana", in: "banana ana"))
    }

    @Test func mentions__large_hostile_body_stays_linear() {
        let body = String(repeating: "a", count: 200_000)
        let nick = String(repeating: "a", count: 500) + "b"
        #expect(!MUC.mentions(nick: nick, in: body))
    }
}
