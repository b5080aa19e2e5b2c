import Foundation
import Store
import Testing
@testable import Shell

private func message(
    _ body: String, direction: StoredMessage.Direction = .incoming, nick: String? = nil, at time: Double = 1_780_000_000,
    conversation: String = "bob@example.org"
) -> StoredMessage {
    StoredMessage(
        accountID: 1, conversation: conversation, direction: direction, type: nick == nil ? "chat" : "groupchat",
        sender: direction == .incoming ? (nick.map { "\(conversation)/\($0)" } ?? "bob@example.org/phone") : "alice@example.org/tern",
        recipient: "alice@example.org", nick: nick, body: body, timestamp: time, receivedAt: time, originID: "o1", dedupKey: "k")
}

private let plain = ChatLines.Style(columns: nil, colour: false, marks: DeliveryMarks(unicode: true))

@Suite struct ChatLinesTests {
    @Test func line__incoming__is_time_name_and_text() {
        let row = message("hi there")
        let line = ChatLines.line(row, name: "Bob", state: nil, style: plain)
        #expect(line.text == "\(Renderer.clock24(row.timestamp)) Bob: hi there")
        #expect(line.markColumn == nil)
    }

    @Test func line__outgoing__carries_a_two_column_mark_after_the_time() {
        let row = message("hello", direction: .outgoing)
        let queued = ChatLines.line(row, name: "me", state: .queued, style: plain)
        #expect(queued.text == "\(Renderer.clock24(row.timestamp)) ○  me: hello")
        #expect(queued.markColumn == 7)
        let delivered = ChatLines.line(row, name: "me", state: .delivered, style: plain)
        #expect(delivered.text == "\(Renderer.clock24(row.timestamp)) ✓✓ me: hello")
        #expect(!queued.text.contains("(queued)"))
    }

    @Test func marks__are_all_as_wide_as_the_slot_in_both_character_sets() {
        for unicode in [true, false] {
            let marks = DeliveryMarks(unicode: unicode)
            for state in OutboxItem.State.allCases {
                #expect(TerminalText.width(marks.slot(state)) == DeliveryMarks.width, "\(state) unicode \(unicode)")
            }
        }
        #expect(DeliveryMarks(unicode: false).mark(.delivered) == "++")
        #expect(DeliveryMarks(unicode: false).mark(.acked).unicodeScalars.allSatisfy { $0.isASCII })
    }

    @Test func marks__never_go_back() {
        var reading = ReadingState()
        reading.track("a", .sent)
        #expect(reading.advance("a", to: .delivered) == .delivered)
        #expect(reading.advance("a", to: .acked) == nil, "a late ack after the receipt")
        #expect(reading.advance("unknown", to: .acked) == nil)
    }

    @Test func locale__utf8_is_read_in_posix_order() {
        #expect(DeliveryMarks.localeIsUTF8(["LANG": "en_GB.UTF-8"]))
        #expect(DeliveryMarks.localeIsUTF8(["LC_ALL": "C.utf8", "LANG": "C"]))
        #expect(!DeliveryMarks.localeIsUTF8(["LC_ALL": "C", "LANG": "en_GB.UTF-8"]))
        #expect(!DeliveryMarks.localeIsUTF8([:]))
    }

    @Test func line__me_action_edit_and_retraction_look_as_such() {
        let action = ChatLines.line(message("/me waves"), name: "Bob", state: nil, style: plain)
        #expect(action.text.hasSuffix(" * Bob waves"))
        var edited = message("fixed")
        edited.editedAt = 1
        #expect(ChatLines.line(edited, name: "Bob", state: nil, style: plain).text.hasSuffix("Bob: fixed (edited)"))
        var retracted = message("secret")
        retracted.retractedAt = 1
        let gone = ChatLines.line(retracted, name: "Bob", state: nil, style: plain).text
        #expect(gone.hasSuffix("Bob: (retracted)") && !gone.contains("secret"))
    }

    @Test func line__body_controls_stay_inert() {
        let line = ChatLines.line(message("a\u{1B}[2Jb \u{202E}c"), name: "Bob", state: nil, style: plain).text
        #expect(!line.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{202E}" }, "\(line)")
    }

    @Test func line__other_conversations_say_which() {
        let room = message("hi", nick: "carol", conversation: "lounge@muc.example.org")
        #expect(ChatLines.line(room, name: "carol", state: nil, otherConversation: "lounge", style: plain).text.hasSuffix(" [lounge] carol: hi"))
        let mine = message("yo", direction: .outgoing)
        #expect(ChatLines.line(mine, name: "me", state: .sent, otherConversation: "Bob", style: plain).text.hasSuffix("→  me → Bob: yo"))
    }

    @Test func wrap__at_sixty_columns_indents_continuation_rows_to_the_body() {
        var style = plain
        style.columns = 60
        let body = (1...30).map { "word\($0)" }.joined(separator: " ")
        let rows = ChatLines.line(message(body), name: "Bob", state: nil, style: style).text.split(separator: "\n")
        #expect(rows.count > 1)
        let indent = TerminalText.width("12:00 Bob: ")
        for row in rows {
            #expect(TerminalText.width(String(row)) <= 60, "\(row)")
        }
        for row in rows.dropFirst() {
            #expect(row.hasPrefix(String(repeating: " ", count: indent)) && row.dropFirst(indent).first != " ", "\(row)")
        }
        #expect(rows.map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ").hasSuffix(body))
    }

    @Test func layout__piped_output_is_never_wrapped_but_multiline_bodies_indent() {
        let long = String(repeating: "x ", count: 200)
        #expect(!ChatLines.layout(head: "12:00 Bob: ", body: long, columns: nil).contains("\n"))
        #expect(ChatLines.layout(head: "12:00 Bob: ", body: "one\ntwo", columns: nil) == "12:00 Bob: one\n           two")
        #expect(ChatLines.layout(head: "12:00 Bob: ", body: "one\ntwo", columns: 80) == "12:00 Bob: one\n           two")
    }

    @Test func layout__a_long_name_indents_under_the_time_instead() {
        let head = "12:00 " + String(repeating: "n", count: 40) + ": "
        let rows = ChatLines.layout(head: head, body: String(repeating: "word ", count: 30), columns: 60).split(separator: "\n")
        #expect(rows.count > 2)
        #expect(rows.dropFirst().allSatisfy { $0.hasPrefix("      ") && TerminalText.width(String($0)) <= 60 })
    }

    @Test func day_separator__names_the_local_day() {
        var parts = tm()
        parts.tm_year = 2026 - 1900
        parts.tm_mon = 11
        parts.tm_mday = 6
        parts.tm_hour = 12
        parts.tm_isdst = -1
        let noon = Double(mktime(&parts))
        #expect(ChatLines.daySeparator(noon) == "-- Sunday 6 December 2026 --")
        #expect(ChatLines.day(noon) == ChatLines.day(noon + 3600))
        #expect(ChatLines.day(noon) != ChatLines.day(noon + 86_400))
    }

    @Test func day_separator__when_lines_cross_a_day_or_the_first_is_not_from_today() {
        let today = 126_340
        #expect(!ChatLines.startsDay(today, after: nil, today: today), "a first line from today needs none")
        #expect(ChatLines.startsDay(today - 1, after: nil, today: today))
        #expect(!ChatLines.startsDay(today - 1, after: today - 1, today: today))
        #expect(ChatLines.startsDay(today, after: today - 1, today: today))
        #expect(ChatLines.startsDay(today - 3, after: today, today: today), "older history after today's lines")
    }

    @Test func line__ours_from_another_client_has_no_mark_slot() {
        let row = message("from my phone", direction: .outgoing)
        let line = ChatLines.line(row, name: "me", state: nil, style: plain)
        #expect(line.text == "\(Renderer.clock24(row.timestamp)) me: from my phone")
        #expect(line.markColumn == nil)
    }
}

@Suite struct SenderColourTests {
    @Test func colour__is_stable_per_name_and_from_the_palette() {
        #expect(SenderColours.code(for: "Bob") == SenderColours.code(for: "Bob"))
        let codes = Set(["Alice", "Bob", "Carol", "Dave", "Eve", "Frank", "Grace", "Heidi"].map(SenderColours.code))
        #expect(codes.count > 3, "names spread over the palette")
        #expect(codes.isSubset(of: Set(SenderColours.palette)))
        #expect(!SenderColours.palette.contains { [30, 37, 90, 97, 40, 47].contains($0) }, "never black, white or grey")
    }

    @Test func colour__only_when_interactive_and_never_under_no_color_or_a_dumb_terminal() {
        #expect(SenderColours.allowed(interactive: true, environment: ["TERM": "xterm-256color"]))
        #expect(!SenderColours.allowed(interactive: false, environment: ["TERM": "xterm-256color"]))
        #expect(!SenderColours.allowed(interactive: true, environment: ["TERM": "xterm", "NO_COLOR": "1"]))
        #expect(!SenderColours.allowed(interactive: true, environment: ["TERM": "xterm", "NO_COLOR": "yes please"]))
        #expect(!SenderColours.allowed(interactive: true, environment: ["TERM": "dumb"]))
    }

    @Test func line__coloured_name_keeps_a_mention_reverse_video() {
        var style = plain
        style.colour = true
        let text = ChatLines.line(message("hi alice"), name: "Bob", state: nil, style: style).text
        #expect(text.contains("\u{1B}[\(SenderColours.code(for: "Bob"))mBob\u{1B}[39m"))
        #expect(!text.contains("\u{1B}[0m"), "a full reset would end the mention's reverse video")
        #expect(TerminalText.width(text) == TerminalText.width(ChatLines.line(message("hi alice"), name: "Bob", state: nil, style: plain).text))
    }
}

@Suite struct SenderNameTests {
    @Test func line_name__roster_name_else_bare_jid_nick_in_rooms() {
        #expect(SenderNames.lineName(message("x")) { $0 == "bob@example.org" ? "Bobby" : nil } == "Bobby")
        #expect(SenderNames.lineName(message("x")) { _ in nil } == "bob@example.org")
        #expect(SenderNames.lineName(message("x", nick: "carol", conversation: "r@muc.x")) { _ in "no" } == "carol")
        #expect(SenderNames.lineName(message("x", direction: .outgoing)) { _ in "no" } == "me")
        var occupant = message("x", conversation: "r@muc.x/dave")
        occupant.sender = "r@muc.x/dave"
        #expect(SenderNames.lineName(occupant) { _ in nil } == "dave")
    }

    @Test func cache__reads_each_contact_once_then_again_after_its_lifetime() {
        var cache = RosterNameCache()
        var lookups = 0
        let lookup: (String) -> String? = { bare in
            lookups += 1
            return bare == "a@x" ? "Al" : nil
        }
        for _ in 0..<1000 {
            #expect(cache.name("a@x", now: 100, lookup: lookup) == "Al")
            #expect(cache.name("b@x", now: 100, lookup: lookup) == nil)
        }
        #expect(lookups == 2)
        _ = cache.name("a@x", now: 100 + RosterNameCache.lifetime + 1, lookup: lookup)
        #expect(lookups == 3)
        cache.forget()
        _ = cache.name("a@x", now: 200, lookup: lookup)
        #expect(lookups == 4)
    }
}

@Suite struct PrintedRowsTests {
    @Test func rows__count_soft_wraps_and_newlines() {
        #expect(PrintedRows.rows(of: "", columns: 60) == 1)
        #expect(PrintedRows.rows(of: String(repeating: "x", count: 60), columns: 60) == 1)
        #expect(PrintedRows.rows(of: String(repeating: "x", count: 61), columns: 60) == 2)
        #expect(PrintedRows.rows(of: "a\nb\n\u{1B}[31mc\u{1B}[39m", columns: 60) == 3)
        #expect(PrintedRows.rows(of: String(repeating: "字", count: 31), columns: 60) == 2)
        #expect(PrintedRows.inputRows(width: 60, columns: 60) == 2, "readline moves to a fresh row after a full one")
        #expect(PrintedRows.inputRows(width: 59, columns: 60) == 1)
    }

    @Test func position__is_the_rows_printed_since_the_line_started() {
        var rows = PrintedRows()
        rows.printed(rows: 1, mark: nil)
        rows.printed(rows: 2, mark: LineMark(key: "a", column: 7))
        #expect(rows.position(of: "a")! == (2, 7))
        rows.printed(rows: 3, mark: nil)
        #expect(rows.position(of: "a")! == (5, 7))
        rows.forgetAll()
        #expect(rows.position(of: "a") == nil)
    }

    @Test func tracked_lines__are_bounded() {
        var rows = PrintedRows()
        for index in 0..<(PrintedRows.kept + 10) { rows.printed(rows: 1, mark: LineMark(key: "\(index)", column: 7)) }
        #expect(rows.trackedCount == PrintedRows.kept)
        #expect(rows.position(of: "0") == nil)
        #expect(rows.position(of: "\(PrintedRows.kept + 9)") != nil)
    }

    @Test func overwrite__goes_up_writes_and_comes_back() {
        #expect(PrintedRows.overwrite(rowsUp: 3, column: 7, mark: "✓ ") == "\u{1B}[3A\u{1B}[7G✓ \u{1B}[3B\r")
    }
}
