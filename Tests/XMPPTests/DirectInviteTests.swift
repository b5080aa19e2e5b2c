/// XEP-0249 direct invitations: the message we send, and which received ones count.
import Testing
@testable import XMPP

@Suite struct DirectInviteTests {
    private func inviteMessage(_ x: String, from: String? = "crone1@shakespeare.lit/desktop", type: String? = nil) throws -> Element {
        let fromAttribute = from.map { " from='\($0)'" } ?? ""
        let typeAttribute = type.map { " type='\($0)'" } ?? ""
        return try parseElement("<message\(fromAttribute)\(typeAttribute) to='hecate@shakespeare.lit'>\(x)</message>")
    }

    @Test func message__carries_room_reason_password_as_attributes() throws {
        let message = try wire(DirectInvite.message(
            to: try JID("hecate@shakespeare.lit"), room: try JID("darkcave@macbeth.shakespeare.lit/nick"),
            reason: "Hey Hecate", password: "cauldronburn", id: "inv1"))
        #expect(message["to"] == "hecate@shakespeare.lit")
        #expect(message["id"] == "inv1")
        let x = try #require(message.child("x", namespace: NS.conference))
        #expect(x["jid"] == "darkcave@macbeth.shakespeare.lit")
        #expect(x["reason"] == "Hey Hecate")
        #expect(x["password"] == "cauldronburn")
        #expect(x["continue"] == nil)
    }

    @Test func message__round_trips_through_invite() throws {
        let sent = DirectInvite.message(
            to: try JID("hecate@shakespeare.lit"), room: try JID("darkcave@macbeth.shakespeare.lit"),
            reason: nil, password: nil, id: "inv2")
        let received = try wire(sent).with(attributes: ["from": "crone1@shakespeare.lit/desktop"])
        let invite = try #require(DirectInvite.invite(in: received))
        #expect(invite.room == (try JID("darkcave@macbeth.shakespeare.lit")))
        #expect(invite.reason == nil)
        #expect(invite.password == nil)
        #expect(!invite.isContinuation)
    }

    @Test func invite__parses_the_xep_example_with_continue() throws {
        let message = try inviteMessage(
            "<x xmlns='jabber:x:conference' continue='true' jid='darkcave@macbeth.shakespeare.lit' "
                + "password='cauldronburn' reason='Hey Hecate, this is the place for all good witches!' thread='e0ffe42b28561960c6b12b944a092794b9683a38'/>")
        let invite = try #require(DirectInvite.invite(in: message))
        #expect(invite.room == (try JID("darkcave@macbeth.shakespeare.lit")))
        #expect(invite.from == (try JID("crone1@shakespeare.lit/desktop")))
        #expect(invite.reason == "Hey Hecate, this is the place for all good witches!")
        #expect(invite.password == "cauldronburn")
        #expect(invite.isContinuation)
    }

    @Test func invite__missing_or_invalid_room__is_nil() throws {
        let bodies = [
            "<x xmlns='jabber:x:conference'/>",  // no jid
            "<x xmlns='jabber:x:conference' jid=''/>",
            "<x xmlns='jabber:x:conference' jid='not a jid@@'/>",
            "<x xmlns='jabber:x:conference' jid='macbeth.shakespeare.lit'/>",  // a service, not a room
            "<x xmlns='jabber:x:conference' jid='darkcave@macbeth.shakespeare.lit/nick'/>",  // an occupant
            "<x xmlns='jabber:x:conference:other' jid='darkcave@macbeth.shakespeare.lit'/>",
            "<body>join darkcave@macbeth.shakespeare.lit</body>",
        ]
        for body in bodies {
            #expect(DirectInvite.invite(in: try inviteMessage(body)) == nil, "\(body)")
        }
    }

    @Test func invite__error_or_groupchat_messages_are_not_invitations() throws {
        let x = "<x xmlns='jabber:x:conference' jid='darkcave@macbeth.shakespeare.lit'/>"
        #expect(DirectInvite.invite(in: try inviteMessage(x, type: "error")) == nil)
        #expect(DirectInvite.invite(in: try inviteMessage(x, type: "groupchat")) == nil)
        #expect(DirectInvite.invite(in: try inviteMessage(x, type: "chat")) != nil)
    }

    @Test func invite__without_from__has_no_inviter() throws {
        let message = try inviteMessage("<x xmlns='jabber:x:conference' jid='darkcave@macbeth.shakespeare.lit' continue='1'/>", from: nil)
        let invite = try #require(DirectInvite.invite(in: message))
        #expect(invite.from == nil)
        #expect(invite.isContinuation)
    }
}
