/// Marks changed in place on lines already printed (issue 15: an outgoing message's delivery
/// state), without reprinting anything.
///
/// The editor prints every line above the prompt itself, so it knows how many terminal rows
/// went out after a given line. To change a mark it clears the prompt, moves the cursor up that
/// many rows (CSI n A, ECMA-48 §8.3.22) to the mark's column (CSI n G, §8.3.9), writes the mark
/// over the old one, comes back down (CSI n B) and redraws the prompt. Whatever it cannot count
/// (a resize that may reflow the screen, Ctrl-L, a completion listing, a question's prompt and
/// answer, ^C) makes it forget every tracked line: a mark left stale is better than one
/// written over someone else's text.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CReadline

/// A printed line whose mark may change later: its key, and the mark's first column (1-based)
/// on the line's first row. The new mark must take as many columns as the old one.
public struct LineMark: Sendable, Equatable {
    public let key: String
    public let column: Int

    public init(key: String, column: Int) {
        self.key = key
        self.column = column
    }
}

/// Counts the rows printed since each tracked line started. Pure: the editor feeds it.
struct PrintedRows {
    /// Lines tracked at most; the oldest is forgotten first.
    static let kept = 256

    /// Rows printed since the editor started counting (or last forgot everything).
    private(set) var total = 0
    private var lines: [String: (start: Int, column: Int)] = [:]
    private var order: [String] = []

    /// `rows` rows went out; the first of them starts the line `mark` tracks, if any.
    mutating func printed(rows: Int, mark: LineMark?) {
        if let mark {
            if lines[mark.key] == nil {
                order.append(mark.key)
                if order.count > Self.kept { lines[order.removeFirst()] = nil }
            }
            lines[mark.key] = (total, mark.column)
        }
        total += rows
    }

    /// How far up the line's first row is from the row right after everything printed, and
    /// the mark's column; nil for a line not tracked (or forgotten).
    func position(of key: String) -> (rowsUp: Int, column: Int)? {
        guard let line = lines[key] else { return nil }
        return (total - line.start, line.column)
    }

    mutating func forgetAll() {
        lines = [:]
        order = []
        total = 0
    }

    var trackedCount: Int { lines.count }

    /// Rows `text` takes when written and followed by a newline: each of its lines at least
    /// one, a line exactly as wide as the terminal one (the cursor waits at the margin).
    static func rows(of text: String, columns: Int) -> Int {
        guard columns > 0 else { return 1 }
        return text.split(separator: "\n", omittingEmptySubsequences: false).reduce(0) { sum, line in
            sum + max(1, (TerminalText.width(String(line)) + columns - 1) / columns)
        }
    }

    /// Rows an accepted input line (prompt and text) leaves behind: readline moves to a fresh
    /// row when the text exactly fills the last one, so a full row counts one more.
    static func inputRows(width: Int, columns: Int) -> Int {
        guard columns > 0 else { return 1 }
        return width / columns + 1
    }

    /// The bytes that write `mark` `rowsUp` rows above, at `column`, and come back to the start
    /// of the current row.
    static func overwrite(rowsUp: Int, column: Int, mark: String) -> String {
        "\u{1B}[\(rowsUp)A\u{1B}[\(column)G" + mark + "\u{1B}[\(rowsUp)B\r"
    }
}

extension LineEditor {
    /// Prints `text` above the prompt like `print`, and remembers where `mark` is on it so that
    /// `replaceMark` can change it later. Any thread. Piped, this is `print`.
    public func print(_ text: String, mark: LineMark?) {
        guard let mark else { return print(text) }
        let queued = shared.withLock { state -> Bool in
            guard interactive, state.running else { return false }
            state.pendingLines.append(text)
            state.pendingLineMarks[state.pendingLines.count - 1] = mark
            return true
        }
        if queued { wake() } else { writeOut(text + "\n") }
    }

    /// Writes `mark` over the mark of the line printed with `key`, if it is still on screen.
    /// Any thread; nothing happens when the output is not a terminal.
    public func replaceMark(of key: String, with mark: String) {
        guard interactive else { return }
        let queued = shared.withLock { state -> Bool in
            guard state.running else { return false }
            state.pendingMarkChanges.append((key, mark))
            return true
        }
        if queued { wake() }
    }

    /// The terminal's height in rows, nil when unknown.
    var screenRows: Int? {
        var size = winsize()
        guard ioctl(output, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0 else { return nil }
        return Int(size.ws_row)
    }

    /// Loop thread, prompt cleared: `lines` go out, and the rows they take are counted.
    func writeCounting(_ lines: [String], marks: [Int: LineMark]) {
        guard !lines.isEmpty else { return }
        writeOut(lines.joined(separator: "\n") + "\n")
        guard let columns else { return printedRows.forgetAll() }
        for (index, line) in lines.enumerated() {
            printedRows.printed(rows: PrintedRows.rows(of: line, columns: columns), mark: marks[index])
        }
    }

    /// Loop thread, prompt cleared: each mark written over its line when that is still on screen.
    func applyMarkChanges(_ changes: [(key: String, mark: String)]) {
        guard !changes.isEmpty, let height = screenRows else { return }
        var out = ""
        for change in changes {
            // A line scrolled off (or onto the prompt's own row) cannot be reached.
            guard let place = printedRows.position(of: change.key), place.rowsUp > 0, place.rowsUp < height else { continue }
            out += PrintedRows.overwrite(rowsUp: place.rowsUp, column: place.column, mark: change.mark)
        }
        if !out.isEmpty { writeOut(out) }
    }

    /// Loop thread, after readline accepted `line` at the command prompt: its rows stay above.
    func countAcceptedLine(_ line: String) {
        guard let columns else { return printedRows.forgetAll() }
        // The prompt on screen, not `shared.prompt`: a newer one may not be shown yet.
        let prompt = tern_rl_prompt().map { String(cString: $0) } ?? ""
        let width = TerminalText.width(prompt) + TerminalText.width(line)
        printedRows.printed(rows: PrintedRows.inputRows(width: width, columns: columns), mark: nil)
    }

    /// Loop thread, after a key: a key that redraws the screen or lists below the line
    /// (clear-screen, completion) leaves rows nobody counted.
    func forgetMarksIfScreenChanged() {
        if shownQuestion != nil || secretInput != nil || tern_rl_last_func_redraws() != 0 || lastKeyWasTab { printedRows.forgetAll() }
    }
}
