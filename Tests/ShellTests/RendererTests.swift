import Foundation
import Store
import Sync
import Testing
@testable import Shell

@Suite struct JSONOutputTests {
    @Test func json__escapes_c1_bidi_and_zero_width_but_keeps_the_data() throws {
        let body = "evil\u{202E}gnp.exe \u{9B}31m zero\u{200B}width \u{1B}[2J 🙂 é"
        let line = Renderer.json(["body": body])
        for scalar in line.unicodeScalars {
            #expect(scalar.value >= 0x20 && scalar.value != 0x7F, "raw control in \(line)")
            #expect(![0x202E, 0x9B, 0x200B].contains(scalar.value), "raw invisible in \(line)")
        }
        #expect(line.contains("\\u202e"))
        let decoded = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
        #expect(decoded?["body"] == body, "escaping is lossless")
        #expect(line.contains("🙂 é"), "ordinary text stays readable")
    }
}

@Suite struct EventOutputTests {
    @Test func outbox_event__with_a_network_supplied_id__prints_it_inert() {
        // Receipt ids come from the peer: a C1 CSI or a bidi override must not reach the terminal.
        let line = EventFormatter.format(.outbox(id: "x\u{9B}2J\u{202E}y", state: .delivered), json: false) ?? ""
        #expect(!line.unicodeScalars.contains { [0x9B, 0x202E].contains($0.value) }, "raw control in \(line)")
        #expect(line.hasSuffix(" delivered"))
    }

    @Test func json__escapes_del_too() {
        let line = Renderer.json(["body": "a\u{7F}b"])
        #expect(!line.unicodeScalars.contains { $0.value == 0x7F }, "raw DEL in \(line)")
    }
}

@Suite struct SenderDisplayTests {
    @Test func line__a_resource_padded_to_wrap__cannot_fake_a_second_sender() {
        // The peer picks its resource: spaces plus length would wrap into a fake "< boss" line.
        let forged = "mallory@evil.example/x" + String(repeating: " ", count: 120) + "[12:00] < boss@corp.example"
        let message = StoredMessage(
            accountID: 1, conversation: "mallory@evil.example", direction: .incoming, type: "chat", sender: forged,
            recipient: "me@example.org", body: "send the password", timestamp: 0, receivedAt: 0,
            stanzaKey: nil, originID: nil, stanzaID: nil, dedupKey: "k")
        let line = Renderer.line(message)
        let who = String(line.split(separator: ": ", maxSplits: 1)[0])
        #expect(!who.contains("  "), "padding survives in \(line)")
        #expect(who.count < 100, "sender not bounded: \(line)")
        #expect(who.contains("mallory@evil.example/x"), "the true sender is still shown")
    }

    @Test func line__a_long_bare_jid__is_never_cut() {
        let bare = "boss@corp.example." + String(repeating: "a", count: 80) + ".evil.example"
        #expect(Renderer.sender(bare + "/phone") == bare + "/phone")
        #expect(Renderer.sender("bob@example.org/Gajim laptop") == "bob@example.org/Gajim\u{2423}laptop")
    }
}

/// Room events and lists carry text from the server and from other occupants: inert on screen.
@Suite struct RoomRendererTests {
    @Test func event__makesServerTextInert() {
        let event = RoomEvent(kind: .subject, room: "r@rooms.example", nick: "bo\u{1B}[2Jb", text: "topic\u{1B}]0;pwned\u{7}\nsecond")
        let line = RoomRenderer.event(event, json: false)
        #expect(!line.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "\(line.debugDescription)")
        #expect(line.hasPrefix("-- r@rooms.example topic: "))
    }

    @Test func event__asJSON_namesTheEventAsCLIMdDoes() throws {
        let line = RoomRenderer.event(RoomEvent(kind: .joined, room: "r@rooms.example", nick: "me"), json: true)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["event"] as? String == "room-joined")
        #expect(object["room"] as? String == "r@rooms.example")
        let invite = RoomRenderer.event(RoomEvent(kind: .invite, room: "r@rooms.example", inviter: "bob@example.org"), json: true)
        #expect(invite.contains("\"event\":\"invite\""))
    }

    @Test func occupantLine__showsRoleAndAffiliation() {
        let line = RoomRenderer.occupantLine(Occupant(
            accountID: 1, room: "r@rooms.example", nick: "bob", role: "moderator", affiliation: "owner", isSelf: true))
        #expect(line == "bob (you)  moderator/owner")
    }
}

@Suite struct MentionTests {
    @Test func mention__standsOutInColour_andIsMarkedInPlainText() {
        #expect(Renderer.mention("[10:00] < r@x/bob: hi alice", colour: true) == "\u{1B}[7m[10:00] < r@x/bob: hi alice\u{1B}[0m")
        #expect(Renderer.mention("[10:00] < r@x/bob: hi alice", colour: false) == "! [10:00] < r@x/bob: hi alice")
    }
}

@Suite struct DroppedOutputTests {
    @Test func dropped__oneLinePerBurst_withInertSendersAndReason() throws {
        let evil = DroppedStanzaReport(kind: "message", from: "eve@x/\u{1B}[2J", reason: "element nesting exceeds 64 levels")
        #expect(DroppedRenderer.lines([evil], json: false) == "-- dropped an oversized message from eve@x/␛[2J: element nesting exceeds 64 levels")
        let burst = (0..<5).map { DroppedStanzaReport(kind: "presence", from: "s\($0)@x", reason: "r") }
        let line = try #require(DroppedRenderer.lines(burst, json: false))
        #expect(line == "-- dropped 5 oversized stanzas from s0@x, s1@x, s2@x and 2 more: r")
        #expect(DroppedRenderer.lines([], json: false) == nil)
    }

    @Test func dropped__json__isOneObjectPerStanza() {
        let lines = DroppedRenderer.lines([DroppedStanzaReport(kind: "reply", from: nil, reason: "r")], json: true)
        #expect(lines == #"{"event":"dropped","kind":"reply","reason":"r"}"#)
    }
}

@Suite struct RetryingOutputTests {
    @Test func retrying__saysWhyAndWhen_inert() {
        let line = EventFormatter.format(.retrying(reason: "bad\u{1B}[2J XML", delay: .seconds(240), failures: 3), json: false)
        #expect(line == "-- the server ended the last 3 sessions right after login (bad␛[2J XML); next try in 4 min")
        let json = EventFormatter.format(.retrying(reason: "r", delay: .seconds(15), failures: 2), json: true)
        #expect(json == #"{"event":"retrying","failures":2,"in_seconds":15,"reason":"r"}"#)
    }
}
