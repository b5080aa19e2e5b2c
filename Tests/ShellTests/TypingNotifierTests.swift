import Testing
import XMPP
@testable import Shell

/// When the shell tells a contact we type (XEP-0085 §5.2–5.4): each change once, never twice in a row.
@Suite struct TypingNotifierTests {
    typealias N = TypingNotifier.Notification

    @Test func typing_pausing_and_sending() {
        var typing = TypingNotifier()
        #expect(typing.edited("h", accepted: nil, in: "bob@x.org", at: 0) == [N(state: .composing, to: "bob@x.org")])
        #expect(typing.edited("he", accepted: nil, in: "bob@x.org", at: 1).isEmpty, "no second composing")
        #expect(typing.tick(at: 5.9).isEmpty)
        #expect(typing.tick(at: 6) == [N(state: .paused, to: "bob@x.org")])
        #expect(typing.tick(at: 20).isEmpty, "paused once")
        #expect(typing.edited("hel", accepted: nil, in: "bob@x.org", at: 21) == [N(state: .composing, to: "bob@x.org")])
        // Enter: the message itself carries <active/>, so nothing more goes out.
        #expect(typing.edited("", accepted: "hello", in: "bob@x.org", at: 22).isEmpty)
        #expect(typing.state == .active)
    }

    @Test func erasing_the_line_or_typing_a_command_is_active_again() {
        var typing = TypingNotifier()
        _ = typing.edited("x", accepted: nil, in: "bob@x.org", at: 0)
        #expect(typing.edited("", accepted: nil, in: "bob@x.org", at: 1) == [N(state: .active, to: "bob@x.org")])
        #expect(typing.edited("/help", accepted: nil, in: "bob@x.org", at: 2).isEmpty, "a command is not typing")
        _ = typing.edited("y", accepted: nil, in: "bob@x.org", at: 3)
        #expect(typing.edited("", accepted: "/ro", in: "bob@x.org", at: 4) == [N(state: .active, to: "bob@x.org")])
    }

    @Test func leaving_mid_line_tells_the_old_contact_and_rooms_get_nothing() {
        var typing = TypingNotifier()
        _ = typing.edited("x", accepted: nil, in: "bob@x.org", at: 0)
        #expect(typing.edited("x", accepted: nil, in: nil, at: 1) == [N(state: .active, to: "bob@x.org")])
        #expect(typing.edited("xy", accepted: nil, in: nil, at: 2).isEmpty, "a room: no states")
        #expect(typing.tick(at: 60).isEmpty)
        #expect(typing.edited("xyz", accepted: nil, in: "carol@x.org", at: 3) == [N(state: .composing, to: "carol@x.org")])
    }
}
