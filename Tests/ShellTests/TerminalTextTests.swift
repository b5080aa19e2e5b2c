import Testing

@testable import Shell

@Suite struct TerminalTextTests {
    @Test func width__counts_columns_not_characters() {
        #expect(TerminalText.width("abc") == 3)
        #expect(TerminalText.width("日本") == 4)
        #expect(TerminalText.width("e\u{301}") == 1, "a combining accent takes no column")
        #expect(TerminalText.width("👍") == 2)
        #expect(TerminalText.width("\u{1B}[1;31mred\u{1B}[0m") == 3, "colours take no column")
        #expect(TerminalText.width("\u{1B}]9;note\u{07}x") == 1)
    }

    @Test func wrap__breaks_at_spaces_with_a_hanging_indent() {
        let lines = TerminalText.wrap("[12:00] bob: the quick brown fox jumps over the lazy dog", columns: 24, indent: 13)
        #expect(lines == ["[12:00] bob: the quick", "             brown fox", "             jumps over", "             the lazy", "             dog"])
        #expect(lines.allSatisfy { TerminalText.width($0) <= 24 })
    }

    @Test func wrap__cuts_a_word_longer_than_a_line_and_keeps_newlines_indented() {
        let lines = TerminalText.wrap("x: " + String(repeating: "a", count: 25) + "\nnext", columns: 13, indent: 3)
        #expect(lines == ["x: aaaaaaaaaa", "   aaaaaaaaaa", "   aaaaa", "   next"])
    }

    @Test func wrap__keeps_leading_spacing_and_short_lines_as_they_are() {
        #expect(TerminalText.wrap("  /help  [COMMAND]", columns: 80) == ["  /help  [COMMAND]"])
        #expect(TerminalText.wrap("日本語のテキスト", columns: 10, indent: 0) == ["日本語のテ", "キスト"])
        #expect(TerminalText.wrap("too narrow to wrap", columns: 5, indent: 2) == ["too narrow to wrap"])
    }
}
