import Foundation
import Glibc
import Testing
@testable import Shell

/// `LineEditor.replaceMark` on a real pty: the cursor goes up exactly the rows printed since.
/// In the terminal suite, serialized with it: readline allows one interactive editor at a time.
extension LineEditorTerminalTests {
    @Test func replaceMark__moves_up_the_rows_printed_since_and_skips_lines_scrolled_off() async throws {
        let (terminal, editor) = try runningEditor(rows: 10, columns: 40)
        defer { terminal.close() }

        editor.print("12:00 ○  me: first", mark: LineMark(key: "a", column: 7))
        editor.print("second")
        editor.print(String(repeating: "x", count: 50))  // two rows at 40 columns
        #expect(terminal.waitFor { $0.contains(String(repeating: "x", count: 50)) })
        editor.replaceMark(of: "a", with: "✓ ")
        #expect(terminal.waitFor { $0.contains("\u{1B}[4A\u{1B}[7G✓ \u{1B}[4B\r") }, "\(terminal.output.debugDescription)")

        // A line typed and accepted stays above the prompt: one row more.
        terminal.type("hello\r")
        #expect(terminal.waitFor { $0.contains("hello") })
        usleep(100_000)
        editor.replaceMark(of: "a", with: "✓✓")
        #expect(terminal.waitFor { $0.contains("\u{1B}[5A\u{1B}[7G✓✓\u{1B}[5B\r") }, "\(terminal.output.debugDescription)")

        // Scrolled off a 10-row screen: nothing is written.
        for number in 1...6 { editor.print("line \(number)") }
        #expect(terminal.waitFor { $0.contains("line 6") })
        editor.replaceMark(of: "a", with: "✗ ")
        editor.print("after")
        #expect(terminal.waitFor { $0.contains("after") })
        #expect(!terminal.output.contains("✗"))

        editor.stop()
        #expect(terminal.waitFor { _ in !editor.isRunning })
    }

    @Test func replaceMark__after_a_resize_leaves_the_screen_alone() async throws {
        let (terminal, editor) = try runningEditor(rows: 20, columns: 40)
        defer { terminal.close() }
        editor.print("12:00 ○  me: first", mark: LineMark(key: "a", column: 7))
        #expect(terminal.waitFor { $0.contains("me: first") })
        // The terminal may reflow on a resize: the rows counted no longer hold.
        kill(getpid(), SIGWINCH)
        usleep(200_000)
        editor.replaceMark(of: "a", with: "✓ ")
        editor.print("after")
        #expect(terminal.waitFor { $0.contains("after") })
        #expect(!terminal.output.contains("7G"))
        editor.stop()
        #expect(terminal.waitFor { _ in !editor.isRunning })
    }

    @Test func replaceMark__after_ctrl_l_leaves_the_screen_alone() async throws {
        let (terminal, editor) = try runningEditor(rows: 20, columns: 40)
        defer { terminal.close() }
        editor.print("12:00 ○  me: first", mark: LineMark(key: "a", column: 7))
        #expect(terminal.waitFor { $0.contains("me: first") })
        // Readline's clear-screen: the line is gone from where the rows say it is.
        terminal.type("\u{0C}")
        usleep(200_000)
        editor.replaceMark(of: "a", with: "✓ ")
        editor.print("after")
        #expect(terminal.waitFor { $0.contains("after") })
        #expect(!terminal.output.contains("7G"))
        editor.stop()
        #expect(terminal.waitFor { _ in !editor.isRunning })
    }

    /// An editor running on a fresh pty of this size, its prompt shown.
    private func runningEditor(rows: UInt16, columns: UInt16) throws -> (Terminal, LineEditor) {
        let terminal = try Terminal()
        var size = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(terminal.master, UInt(TIOCSWINSZ), &size)
        let editor = try LineEditor(historyFile: nil, prompt: "P> ", interactive: true, input: terminal.slave, output: terminal.slave)
        let runner = Thread { _ = editor.run { _ in } }
        runner.start()
        #expect(terminal.waitFor { $0.contains("P> ") })
        return (terminal, editor)
    }
}
