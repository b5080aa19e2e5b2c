import Sync
import Testing
@testable import Shell

/// The shell's states are enums, and what the prompt and roster show is their rendering.
@Suite struct ShellStateTests {
    @Test func link__renders_as_the_prompt_shows_it() {
        #expect(InteractiveShell.Link.own(.offline).rendering == "offline")
        #expect(InteractiveShell.Link.own(.connecting).rendering == "connecting")
        #expect(InteractiveShell.Link.own(.online).rendering == "online")
        #expect(InteractiveShell.Link.otherProcess.rendering == "via other process")
    }

    @Test func shown_presence__plain_available_is_online_and_none_is_offline() {
        typealias Shown = RosterRenderer.Shown
        #expect(Shown(show: nil, available: true) == .online)
        #expect(Shown(show: "dnd", available: true) == .dnd)
        #expect(Shown(show: "away", available: false) == .offline)
        #expect(Shown.chat.symbol == "\u{1B}[32m★\u{1B}[0m")
        #expect(Shown.offline.paint("offline") == "\u{1B}[2moffline\u{1B}[0m")
    }
}
