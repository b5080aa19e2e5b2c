import Foundation
import Store

/// How a message looks in the interactive shell (issue 15, "Reading"): `12:03 Bob: text`, the
/// local time and who as people know them; a `/me` action (XEP-0245 §3) as `* Bob waves`; a
/// correction (XEP-0308) marked `(edited)`, a retraction (XEP-0424) as `(retracted)`. An
/// outgoing line carries its delivery mark right after the time, in a slot of fixed width so
/// the editor can change it in place. On a terminal the text wraps at its width with the
/// continuation rows indented to where the body starts.
///
/// `tern history` and `sync --watch` keep `Renderer.line`: scripts read those.
enum ChatLines {
    /// What decides a line's look beside the message itself.
    struct Style: Equatable {
        /// The terminal's width; nil when the output is not a terminal (never wrapped then).
        var columns: Int?
        var colour: Bool
        var marks: DeliveryMarks
    }

    /// A line ready to print, and where its delivery mark is (outgoing lines only).
    struct Line: Equatable {
        var text: String
        var markColumn: Int?
    }

    /// - Parameters:
    ///   - name: who sent it, already inert (`SenderNames.lineName`).
    ///   - otherConversation: the conversation's name when it is not the current one (a room's
    ///     lines then say which room, ours say to whom); nil for the current conversation.
    static func line(_ message: StoredMessage, name: String, state: OutboxItem.State?, otherConversation: String? = nil, style: Style)
        -> Line
    {
        let outgoing = message.direction == .outgoing
        var head = Renderer.clock24(message.timestamp) + " "
        var markColumn: Int?
        // Ours from another client of ours (carbons, the archive) has no outbox row, so no mark.
        if outgoing, state != nil {
            markColumn = TerminalText.width(head) + 1
            head += style.marks.slot(state) + " "
        }
        let who = style.colour ? SenderColours.paint(name, isSelf: outgoing) : name
        if let other = otherConversation {
            head += outgoing ? "" : "[\(other)] "
        }
        let target = outgoing ? otherConversation.map { " → \($0)" } ?? "" : ""
        let body: String
        if message.retractedAt != nil {
            head += "\(who)\(target): "
            body = "(retracted)"
        } else if let action = message.meAction {
            head += "* \(who)\(target) "
            body = Sanitizer.inertMultiline(String(action)) + (message.editedAt != nil ? " (edited)" : "")
        } else {
            head += "\(who)\(target): "
            body = Sanitizer.inertMultiline(message.body) + (message.editedAt != nil ? " (edited)" : "")
        }
        return Line(text: layout(head: head, body: body, columns: style.columns), markColumn: markColumn)
    }

    /// `head` then `body`, wrapped at `columns` with a hanging indent to the body's start;
    /// unwrapped without columns, each line of a multi-line body still indented the same.
    static func layout(head: String, body: String, columns: Int?) -> String {
        var indent = TerminalText.width(head)
        guard let columns else {
            return head + body.replacingOccurrences(of: "\n", with: "\n" + String(repeating: " ", count: indent))
        }
        // A long name would leave the text a sliver: indent under the time instead.
        if indent > columns / 2 { indent = min(6, columns / 4) }
        return TerminalText.wrap(head + body, columns: columns, indent: indent).joined(separator: "\n")
    }

    /// `-- Sunday 6 December 2026 --`, the local date of `seconds`.
    static func daySeparator(_ seconds: Double) -> String {
        let parts = LocalTime.parts(seconds)
        let weekday = weekdays[Int(parts.tm_wday) % 7]
        let month = months[Int(parts.tm_mon) % 12]
        return "-- \(weekday) \(parts.tm_mday) \(month) \(Int(parts.tm_year) + 1900) --"
    }

    /// Whether a line of `day` needs a separator before it: it starts another day than the line
    /// before it, or it is the first line shown and not from today.
    static func startsDay(_ day: Int, after last: Int?, today: Int) -> Bool {
        day != last && (last != nil || day != today)
    }

    /// The local day of `seconds`, to tell when consecutive lines cross one.
    static func day(_ seconds: Double) -> Int {
        let parts = LocalTime.parts(seconds)
        return Int(parts.tm_year) * 1000 + Int(parts.tm_yday)
    }

    private static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    private static let months = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
    ]
}

extension Renderer {
    /// Local time, `12:03`: the shell's day separators say the date.
    static func clock24(_ seconds: Double) -> String {
        var out: [UInt8] = []
        LocalTime.appendClock(LocalTime.parts(seconds), to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

/// The delivery mark of an outgoing line, two columns wide whatever the state: queued `○`,
/// sent `→`, acked by the server (XEP-0198) `✓`, delivered (XEP-0184 receipt, or the room's
/// reflection) `✓✓`, failed `✗`, cancelled `-`. Outside a UTF-8 locale: `.` `>` `+` `++` `x` `-`.
struct DeliveryMarks: Equatable {
    var unicode: Bool

    static let width = 2

    func mark(_ state: OutboxItem.State?) -> String {
        switch state {
        case nil: ""
        case .queued: unicode ? "○" : "."
        case .sent: unicode ? "→" : ">"
        case .acked: unicode ? "✓" : "+"
        case .delivered: unicode ? "✓✓" : "++"
        case .failed: unicode ? "✗" : "x"
        case .cancelled: "-"
        }
    }

    /// The mark padded to the slot's width, so a later one covers it exactly.
    func slot(_ state: OutboxItem.State?) -> String {
        let mark = mark(state)
        return mark + String(repeating: " ", count: max(0, Self.width - TerminalText.width(mark)))
    }

    /// How far a state has come: a late report of an earlier step never takes a mark back.
    static func rank(_ state: OutboxItem.State) -> Int {
        switch state {
        case .queued: 0
        case .sent: 1
        case .acked: 2
        case .delivered, .failed, .cancelled: 3
        }
    }

    /// Whether the locale's character set is UTF-8 (LC_ALL, else LC_CTYPE, else LANG; POSIX order).
    static func localeIsUTF8(_ environment: [String: String]) -> Bool {
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"].lazy.compactMap { environment[$0] }.first { !$0.isEmpty } ?? ""
        let lowered = locale.lowercased()
        return lowered.contains("utf-8") || lowered.contains("utf8")
    }
}

/// A stable colour per sender's name, from a palette readable on dark and light backgrounds
/// alike (the basic colours and their bright forms, never black, white or grey, which may be
/// the background). `me` is bold instead. Only on a terminal, and never under `NO_COLOR`
/// (https://no-color.org) or `TERM=dumb`.
enum SenderColours {
    static let palette = [31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96]

    /// Colours may be used: interactive output, `NO_COLOR` unset or empty, and a TERM other than dumb.
    static func allowed(interactive: Bool, environment: [String: String]) -> Bool {
        guard interactive else { return false }
        if let noColour = environment["NO_COLOR"], !noColour.isEmpty { return false }
        return environment["TERM"] != "dumb"
    }

    /// The palette's SGR colour for `name`: FNV-1a, so it is the same in every run.
    static func code(for name: String) -> Int {
        var hash: UInt32 = 2_166_136_261
        for byte in name.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return palette[Int(hash % UInt32(palette.count))]
    }

    /// `name` in its colour. The colour ends with SGR 39 (default foreground), not a full
    /// reset, so a mention's reverse video around the line holds.
    static func paint(_ name: String, isSelf: Bool) -> String {
        isSelf ? "\u{1B}[1m\(name)\u{1B}[22m" : "\u{1B}[\(code(for: name))m\(name)\u{1B}[39m"
    }
}
