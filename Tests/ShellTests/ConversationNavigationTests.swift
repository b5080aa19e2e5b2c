import Store
import Testing
@testable import Shell

/// What `/list` and the prompt make of the Store's conversation list (issue 15).
@Suite struct ConversationNavigationTests {
    @Test func promptNote__numbers_and_counts_by_number_and_only_a_few() {
        var navigation = ConversationNavigation(order: ["a", "b", "c", "d", "e", "f", "g"])
        #expect(navigation.promptNote() == nil)
        navigation.unread = ["d": 1, "b": 3, "a": 0]
        #expect(navigation.promptNote() == "[unread 2:3 4:1]")
        navigation.unread = ["a": 1, "b": 1, "c": 1, "d": 1, "e": 1, "f": 1, "g": 1200]
        #expect(navigation.promptNote() == "[unread 1:1 2:1 3:1 4:1 5:1 +2]")
        navigation.unread = ["g": 1200, "h": 1]
        #expect(navigation.promptNote() == "[unread 7:1200 ?:1]", "a conversation without a number still counts")
    }

    @Test func remember__adds_a_new_conversation_at_the_end_once() {
        var navigation = ConversationNavigation(order: ["a"])
        navigation.remember("b")
        navigation.remember("a")
        navigation.remember("b")
        #expect(navigation.order == ["a", "b"])
        #expect(navigation.number(of: "b") == 2)
    }

    @Test func cut__fits_the_width_with_an_ellipsis_and_counts_wide_characters_twice() {
        #expect(TerminalText.cut("short", to: 80) == "short")
        #expect(TerminalText.cut("0123456789", to: 11) == "0123456789", "the last column stays free")
        #expect(TerminalText.cut("0123456789", to: 10) == "01234567…")
        #expect(TerminalText.cut("日本語のテキスト", to: 8) == "日本語…")
    }

    @Test func conversationKeys__alt_1_to_9_run_c_n() {
        #expect(InteractiveShell.conversationKeys["\u{1B}2"] == "/c 2")
        #expect(InteractiveShell.conversationKeys.count == 9)
    }
}
